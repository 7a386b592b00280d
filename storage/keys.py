"""Normalised keys storage compares articles by. Pure functions: no I/O, no database."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def title_key(title: str) -> str:
    """A title reduced to what does not change when a feed re-publishes an item.

    Compatibility-folded (NFKC), case-folded, diacritics kept, punctuation, quotes, emoji and
    runs of whitespace collapsed to single spaces. Two titles with the same key are treated as
    the same headline (together with the same link key). Does not translate or stem.
    """
    folded = unicodedata.normalize("NFKC", title).casefold()
    return _NON_WORD.sub(" ", folded).strip()
