"""Plural words for the sentences every part writes ("1 feed", "3 feeds").

Pure; English only (the bot's own messages in other languages come from their catalogues).
"""

from __future__ import annotations

_IRREGULAR = {"match": "matches", "entry": "entries", "story": "stories", "address": "addresses"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``plural(1, "feed")`` -> ``1 feed``; ``plural(3, "match")`` -> ``3 matches``."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {many or _IRREGULAR.get(word, word + 's')}"
