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


_QUERY_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(query: str) -> list[str]:
    """The words of a free-text search query, in order, without operators or punctuation.

    Searches are plain "all of these words": no user text ever reaches the database as query
    syntax (FTS5 or tsquery), so a stray quote or ``NEAR`` cannot break or widen a search.
    """
    return _QUERY_WORD.findall(query)


def snippet(text: str, words: list[str], width: int = 200) -> str:
    """About ``width`` characters of ``text`` around the first occurrence of any of ``words``.

    Cut at word boundaries, with "…" where text was left out. Falls back to the start of the
    text when no word occurs literally (the search engine may have matched a stem).
    """
    flat = " ".join(text.split())
    if not flat:
        return ""
    lower = flat.casefold()
    positions = [p for w in words if (p := lower.find(w.casefold())) >= 0]
    centre = min(positions) if positions else 0
    start = max(0, centre - width // 3)
    end = min(len(flat), start + width)
    if start > 0:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < centre else start
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > centre else end
    return ("…" if start > 0 else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")
