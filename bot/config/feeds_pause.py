"""Pausing and resuming a feed in the feeds file: ``enabled: false`` on its entry, or gone.

The same round-trip editing as adding and removing (``bot.config.feeds_file``: ruamel.yaml
keeps the operator's comments, blank lines, quoting and indentation). A plain-URL item becomes a
mapping (``url:`` and ``enabled: false``) when paused; resuming removes the ``enabled`` key, so
the entry reads as it did. Edits text only; the caller validates, writes and applies it.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from bot.config.feeds_file import _dump, _feed_url, _load_round_trip


def set_feed_enabled_entry(text: str, url: str, enabled: bool) -> str | None:
    """``text`` with the feed ``url`` paused (``enabled=False``) or resumed; the text unchanged
    when it already is; None when the file lists no such feed. ``ConfigError`` when the text is
    not YAML."""
    rt, data = _load_round_trip(text)
    feeds = data.get("feeds") if isinstance(data, CommentedMap) else None
    if not isinstance(feeds, CommentedSeq):
        return None
    index = next((i for i, item in enumerate(feeds) if _feed_url(item) == url.strip()), None)
    if index is None:
        return None
    item = feeds[index]
    if isinstance(item, str):
        if enabled:
            return text
        entry = CommentedMap()
        entry["url"] = DoubleQuotedScalarString(item.strip())
        entry["enabled"] = False
        feeds[index] = entry
    elif isinstance(item, CommentedMap):
        if bool(item.get("enabled", True)) == enabled:
            return text
        if enabled:
            _delete_key_keeping_lines_after(item, "enabled")
        elif "enabled" in item:
            item["enabled"] = False
        else:
            # Right after the url: a comment after the entry's last key (often the heading of
            # the next feed) stays where it is.
            item.insert(list(item).index("url") + 1, "enabled", False)
    else:
        return None
    return _dump(rt, data)


def _delete_key_keeping_lines_after(item: CommentedMap, key: str) -> None:
    """Delete ``key``; its own end-of-line comment goes with it, but the lines after it (the
    comments and blank lines that head what follows) move to the key before it."""
    keys = list(item)
    entry = item.ca.items.pop(key, None)
    token = entry[2] if entry is not None and len(entry) > 2 else None
    after = token.value.partition("\n")[2] if isinstance(token, CommentToken) else ""
    del item[key]
    if not after or keys.index(key) == 0:
        return
    previous = keys[keys.index(key) - 1]
    slot = item.ca.items.setdefault(previous, [None, None, None, None])
    old = slot[2]
    if isinstance(old, CommentToken):
        slot[2] = CommentToken(old.value + after, old.start_mark, None)
    else:
        slot[2] = CommentToken("\n" + after, CommentMark(0), None)
