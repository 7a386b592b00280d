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


def first_poll_text(items: int) -> str:
    """What a new feed's first poll did when it does not alert on the items already there (the
    log says it once; /feeds says it until the feed's next new story)."""
    return (
        f"first poll: {plural(items, 'existing item')} recorded; alerts start with the next new "
        "story (NEWSWATCH_ALERT_ON_FIRST_POLL=true alerts on them too)"
    )
