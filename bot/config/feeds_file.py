"""The feeds file, ``config/feeds.yaml``: reading it, the admin's two edits, and writing it.

Reading: ``parse_feeds_yaml`` / ``load_feeds_file`` validate the file into a ``FeedsConfig``
(PyYAML's ``safe_load``, whose marks give line and column for errors).

Editing: ``append_feed_entry`` and ``remove_feed_entry`` change the text through ruamel.yaml's
round-trip mode, so the operator's comments, blank lines, quoting and indentation survive. The
indentation is read from the file (how ``feeds:`` and ``defaults:`` are indented) and used for
the whole dump, so a file that indents its lists in two different ways comes back with one.
Nor does ruamel keep spacing inside a line: ``url:    x`` comes back as ``url: x`` and
``[ a,  b ]`` as ``[a, b]``, and a comment after them moves with the text. The edits do not
validate the result: the callers re-parse it before writing.

Writing: ``write_file_atomically``. Does no network I/O; checking a feed before adding it is
``bot.runtime.feed_edits``.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from bot.config.settings import parse_duration
from core.errors import ConfigError
from core.models import FeedConfig

# Reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    """The feeds file: defaults and the feed list."""

    default_interval_s: float
    feeds: tuple[FeedConfig, ...]
    adaptive: bool = False
    min_interval_s: float = 60.0
    max_interval_s: float = 6 * 3600.0


def parse_feeds_yaml(text: str, source: str, default_interval_s: float) -> FeedsConfig:
    """Parse the text of a feeds file. ``source`` names the file in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{source}{where}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'feeds:' list at the top")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: 'defaults' must be a mapping")
    interval = default_interval_s
    if "interval" in defaults:
        interval = parse_duration(defaults["interval"], f"{source}: defaults.interval")
    adaptive = bool(defaults.get("adaptive", False))
    min_iv = parse_duration(defaults.get("min_interval", 60), f"{source}: defaults.min_interval")
    max_iv = parse_duration(defaults.get("max_interval", "6h"), f"{source}: defaults.max_interval")
    raw_feeds = data.get("feeds") or []
    if not isinstance(raw_feeds, list):
        raise ConfigError(f"{source}: 'feeds' must be a list")
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_feeds, start=1):
        where = f"{source}: feeds[{i}]"
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ConfigError(f"{where}: each feed needs a 'url'")
        url = item["url"].strip()
        if not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(f"{where}: url must be an http:// or https:// address, got {url!r}")
        if url in seen:
            raise ConfigError(f"{where}: duplicate feed url {url!r}")
        seen.add(url)
        unknown = set(item) - {"url", "name", "tags", "interval", "full_text", "enabled"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        tags = item.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        feeds.append(
            FeedConfig(
                url=url,
                name=str(item["name"]) if item.get("name") else None,
                tags=tuple(str(t) for t in tags),
                interval_s=(
                    parse_duration(item["interval"], f"{where}.interval")
                    if "interval" in item
                    else None
                ),
                full_text=bool(item.get("full_text", False)),
                enabled=bool(item.get("enabled", True)),
            )
        )
    return FeedsConfig(
        default_interval_s=interval,
        feeds=tuple(feeds),
        adaptive=adaptive,
        min_interval_s=min_iv,
        max_interval_s=max_iv,
    )


def load_feeds_file(path: Path, default_interval_s: float) -> FeedsConfig:
    """Read and parse the feeds file; a missing file is a clear error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: feeds file not found (set NEWSWATCH_CONFIG_DIR)") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read feeds file: {e.strerror}") from None
    return parse_feeds_yaml(text, str(path), default_interval_s)


# Round-trip edits -----------------------------------------------------------------------------
#
# ruamel.yaml keeps a comment as a token on a node near it. The lines after a feed item (a blank
# line, a "# next section" heading, the comments before the next top-level key) hang on the
# end-of-line slot of the item's last scalar, or sit in front of the next item, or in a list's
# ``end``. The helpers below gather them from wherever ruamel put them and place them where they
# still mean the same after an item is added or removed.

# A comment slot: (a node's ``ca.items``, the key or index, the position in its entry).
_Slot = tuple[dict[Any, list[Any]], Any, int]

# Used when the file shows no indentation of its own: "feeds:\n  - url: ...\n    name: ...".
_DEFAULT_INDENT = (2, 4, 2)  # mapping indent, sequence indent, dash offset


def _round_trip_yaml(text: str, data: object) -> YAML:
    """A round-trip dumper set up like ``text``: its indentation, quotes kept, no line wrap."""
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 1 << 16  # never fold a long URL or name onto a second line
    rt.explicit_start = text.lstrip().startswith("---")
    mapping, sequence, offset = _guess_indent(data)
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    return rt


def _guess_indent(data: object) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the file's top-level values use them:
    the first nested block mapping gives the first, the first block list the other two."""
    mapping, sequence, offset = _DEFAULT_INDENT
    if not isinstance(data, CommentedMap):
        return mapping, sequence, offset
    seen_mapping = seen_sequence = False
    for key, value in data.items():
        if not _is_block_collection(value):
            continue
        # lc.data[key] = [key line, key column, value line, value column]
        _key_line, key_col, _value_line, value_col = data.lc.data[key]
        if isinstance(value, CommentedMap) and not seen_mapping:
            mapping, seen_mapping = max(1, value_col - key_col), True
        elif isinstance(value, CommentedSeq) and not seen_sequence:
            _item_line, item_col = value.lc.data[0]
            offset = max(0, value_col - key_col)  # where the dash stands
            sequence = max(item_col - key_col, offset + 2)  # where the item's text starts
            seen_sequence = True
    return mapping, sequence, offset


def _dump(rt: YAML, data: object) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _is_block_collection(node: object) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and bool(node) and not node.fa.flow_style()


def _tokens_text(tokens: object) -> str:
    """A list of ruamel's whole-line comment tokens back as the lines they stand for."""
    if not isinstance(tokens, list):
        return ""
    lines = []
    for token in tokens:
        if isinstance(token, CommentToken):
            column = token.start_mark.column if token.start_mark is not None else 0
            lines.append(token.value if token.value == "\n" else " " * column + token.value)
    return "".join(lines)


def _line_tokens(lines: str) -> list[CommentToken]:
    """``lines`` as ruamel's whole-line comment tokens: one per line, placed at its column."""
    tokens = []
    for line in lines.splitlines():
        text = line.lstrip(" ")
        tokens.append(CommentToken(text + "\n", CommentMark(len(line) - len(text)), None))
    return tokens


class _ItemEnd:
    """Where the lines after one feed item live: the end-of-line slot of its last scalar (or
    last flow collection), and the ``end`` lists of the collections on the way down to it."""

    def __init__(self, seq: CommentedSeq, index: int) -> None:
        container: CommentedMap | CommentedSeq = seq
        key: Any = index
        self.collections: list[CommentedBase] = []
        while True:
            child = container[key]
            if isinstance(child, CommentedBase):
                self.collections.append(child)
            if not _is_block_collection(child):
                break
            container = child
            key = next(reversed(child)) if isinstance(child, CommentedMap) else len(child) - 1
        self.slot: _Slot = (container.ca.items, key, 2 if isinstance(container, dict) else 0)

    def _token(self) -> CommentToken | None:
        items, key, position = self.slot
        entry = items.get(key)
        token = entry[position] if entry is not None else None
        return token if isinstance(token, CommentToken) else None

    def _set(self, value: str) -> None:
        items, key, position = self.slot
        old = self._token()
        column = old.start_mark.column if old is not None and old.start_mark is not None else 0
        token = CommentToken(value, CommentMark(column), None) if value else None
        items.setdefault(key, [None, None, None, None])[position] = token
        last = self.collections[-1] if self.collections else None
        if last is not None and not _is_block_collection(last) and last.ca.comment:
            last.ca.comment[0] = token  # a flow collection shares the token with its slot

    def take_lines_after(self) -> str:
        """Remove and return the lines after the item (its own end-of-line comment stays)."""
        token = self._token()
        own, newline, rest = (token.value if token is not None else "").partition("\n")
        self._set(own + newline if own.strip() else "")
        for node in self.collections:
            rest += _tokens_text(node.ca.end)
            node.ca.end = []
        return rest

    def put_lines_after(self, lines: str) -> None:
        """Add ``lines`` after the item (after the lines already there)."""
        if lines:
            token = self._token()
            self._set((token.value if token is not None else "\n") + lines)


def _lines_before(seq: CommentedSeq, index: int) -> str:
    entry = seq.ca.items.get(index)
    return _tokens_text(entry[1]) if entry is not None else ""


def _set_lines_before(seq: CommentedSeq, index: int, lines: str) -> None:
    seq.ca.items.setdefault(index, [None, None, None, None])[1] = _line_tokens(lines) or None


def _take_lines_after(seq: CommentedSeq, index: int) -> str:
    """The lines between item ``index`` and the next item (or whatever follows the list)."""
    lines = _ItemEnd(seq, index).take_lines_after()
    if index + 1 < len(seq):
        lines += _lines_before(seq, index + 1)
        _set_lines_before(seq, index + 1, "")
    else:
        lines += _tokens_text(seq.ca.end)
        seq.ca.end = []
    return lines


def _feed_url(item: object) -> str | None:
    if isinstance(item, str):
        return item.strip()
    if isinstance(item, dict) and isinstance(item.get("url"), str):
        return str(item["url"]).strip()
    return None


def _load_round_trip(text: str) -> tuple[YAML, Any]:
    loader = YAML(typ="rt")
    loader.preserve_quotes = True
    try:
        data = loader.load(text)
    except YAMLError as e:
        raise ConfigError(f"not valid YAML: {e}") from None
    return _round_trip_yaml(text, data), data


def _new_entry(url: str, name: str | None) -> CommentedMap:
    entry = CommentedMap()
    entry["url"] = DoubleQuotedScalarString(url)
    if name:
        entry["name"] = DoubleQuotedScalarString(name)
    return entry


def append_feed_entry(text: str, url: str, name: str | None) -> str:
    """``text`` (a feeds file) with one more feed, ``{url, name}``, at the end of ``feeds:``.

    The new values are double-quoted. The blank lines and comments after the last feed stay
    after the list (they usually head what follows it). A missing or empty ``feeds:`` becomes a
    block list, and so does a flow one (``feeds: []``, ``feeds: [a, b]``). Raises
    ``ConfigError`` when the text is not YAML, not a mapping, or ``feeds`` is not a list; does
    not validate the feeds themselves.
    """
    rt, data = _load_round_trip(text)
    entry = _new_entry(url, name)
    if data is None:
        # Empty, or comments only: ruamel keeps no comments for an empty document, so the new
        # key goes after the text as it is.
        snippet = _dump(rt, CommentedMap([("feeds", CommentedSeq([entry]))]))
        return snippet if not text.strip() else text.rstrip("\n") + "\n\n" + snippet
    if not isinstance(data, CommentedMap):
        raise ConfigError("expected a mapping with a 'feeds:' list at the top")
    feeds = data.get("feeds")
    after = ""
    if feeds is None:
        feeds = CommentedSeq()
        if "feeds" in data:
            # "feeds:" with nothing after it: its comment stays on its line, and the lines
            # after that (which head the next key) go after the new list.
            after = _take_key_lines_after(data, "feeds")
            data["feeds"] = feeds
        else:
            data.insert(len(data), "feeds", feeds)
    elif not isinstance(feeds, CommentedSeq):
        raise ConfigError("'feeds' must be a list")
    elif not feeds or feeds.fa.flow_style():  # "feeds: []" or "feeds: [a, b]"
        _make_block_list(data, feeds)
    if feeds:
        after = _take_lines_after(feeds, len(feeds) - 1)
    feeds.append(entry)
    _ItemEnd(feeds, len(feeds) - 1).put_lines_after(after)
    return _dump(rt, data)


def _take_key_lines_after(data: CommentedMap, key: str) -> str:
    """Remove and return the lines after ``key``'s own line, when its value is empty."""
    entry = data.ca.items.get(key)
    token = entry[2] if entry is not None else None
    if entry is None or not isinstance(token, CommentToken):
        return ""
    own, newline, rest = token.value.partition("\n")
    column = token.start_mark.column if token.start_mark is not None else 0
    entry[2] = CommentToken(own + newline, CommentMark(column), None) if own.strip() else None
    return rest


def _make_block_list(data: CommentedMap, feeds: CommentedSeq) -> None:
    """``feeds: [...]  # note`` -> a block list; the note stays on the key's line."""
    feeds.fa.set_block_style()
    entry = data.ca.items.get("feeds")
    token = entry[2] if entry is not None else None
    if isinstance(token, CommentToken) and entry is not None:
        entry[2] = CommentToken(token.value, CommentMark(len("feeds:") + 2), None)
    if feeds.ca.comment:
        feeds.ca.comment[0] = None  # the same note, kept for the flow style only


def remove_feed_entry(text: str, url: str) -> str | None:
    """``text`` without the feed whose url is ``url`` (a plain item or a mapping with ``url:``);
    None when the file lists no such feed.

    The item goes with its own comments and the blank lines after it. The comment lines above
    it stay, and so do the comment lines after it from the first one that is not indented under
    it on (a heading for the next feed, the comments before the next key); so does a blank line
    before it. Raises ``ConfigError`` when the text is not YAML. Does not validate the result.
    """
    rt, data = _load_round_trip(text)
    feeds = data.get("feeds") if isinstance(data, CommentedMap) else None
    if not isinstance(feeds, CommentedSeq):
        return None
    index = next((i for i, item in enumerate(feeds) if _feed_url(item) == url.strip()), None)
    if index is None:
        return None
    dash_column = data.lc.data["feeds"][3] if not feeds.fa.flow_style() else 0
    kept = _lines_before(feeds, index) + _kept_lines(_take_lines_after(feeds, index), dash_column)
    del feeds[index]  # ruamel shifts the comments of the items after it
    if index < len(feeds):
        # What stood between the removed item and the next now stands before that next one.
        _set_lines_before(feeds, index, kept)
    elif feeds:
        _ItemEnd(feeds, len(feeds) - 1).put_lines_after(kept)
    else:
        _empty_list_keeps_lines(data, feeds, kept)
    return _dump(rt, data)


def _kept_lines(lines: str, dash_column: int) -> str:
    """Of the lines after a removed item, those from the first comment that is not indented
    under the item on (the blank lines and comments before it belonged to the item)."""
    out = lines.splitlines(keepends=True)
    for i, line in enumerate(out):
        stripped = line.lstrip(" ")
        if stripped.startswith("#") and len(line) - len(stripped) <= dash_column:
            return "".join(out[i:])
    return ""


def _empty_list_keeps_lines(data: CommentedMap, feeds: CommentedSeq, lines: str) -> None:
    """The last feed is gone: ``feeds: []``, and the lines that followed it after that line.

    ruamel writes a flow list's comment after the ``]``; a block list's would land between the
    key and its empty value, which is not YAML."""
    feeds.fa.set_flow_style()
    key_entry = data.ca.items.pop("feeds", None)
    token = key_entry[2] if key_entry is not None else None
    own = token.value if isinstance(token, CommentToken) and token.value.strip() else "\n"
    own = own.split("\n", 1)[0] + "\n"
    heading = _tokens_text(feeds.ca.comment[1]) if feeds.ca.comment else ""  # above the items
    if own.strip() or heading or lines:
        feeds.ca.comment = [CommentToken(own + heading + lines, CommentMark(0), None), None]


# Writing --------------------------------------------------------------------------------------


def write_file_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers (the file watchers) see the old file or
    the new one, never a half-written one; keeps the file's permissions. Blocking: call it
    through ``asyncio.to_thread``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
