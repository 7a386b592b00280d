"""`newswatch feeds` and `newswatch feeds add URL`: the feed health table and adding a feed.

Thin command functions: they print to ``out`` and return an exit code (0 ok, 1 problem). The
health logic lives in ``watchers.feed_health``, URL checking in ``watchers.discovery``. Adding a
feed appends one entry to ``config/feeds.yaml`` as text, so the operator's comments, order and
layout survive; the result is re-validated with ``parse_feeds_yaml`` before it is written.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TextIO

from bot.config.settings import parse_feeds_yaml
from core.errors import ConfigError
from core.models import FeedState
from storage.base import Storage
from watchers.discovery import inspect_feed_url
from watchers.feed_health import HealthKind, classify, format_duration
from watchers.fetch import FeedFetcher

_FEEDS_KEY_RE = re.compile(r"^feeds\s*:\s*(?:#.*)?$")
_EMPTY_FEEDS_RE = re.compile(r"^feeds\s*:\s*\[\s*\]\s*(?:#.*)?$")


def render_feed_table(states: Sequence[FeedState], now: datetime, tz: tzinfo) -> str:
    """The health table: one row per feed, problems first. Pure (no I/O)."""
    if not states:
        return "No feeds yet. Add one with: newswatch feeds add URL\n"
    order = {
        HealthKind.DISABLED: 0,
        HealthKind.FAILING: 1,
        HealthKind.SILENT: 2,
        HealthKind.NEW: 3,
        HealthKind.OK: 4,
    }
    rows: list[tuple[int, list[str]]] = []
    for s in states:
        kind, _since = classify(s, now)
        status = kind.value if s.enabled else "off"
        if kind is HealthKind.FAILING:
            status = f"failing x{s.consecutive_errors}"
        rows.append(
            (
                order[kind],
                [
                    status,
                    _clip(s.name or s.title or s.url, 32),
                    _when(s.last_success_at, now, tz),
                    str(s.items_seen),
                    format_duration(s.avg_new_item_interval_s)
                    if s.avg_new_item_interval_s
                    else "-",
                    _when(s.next_check_at, now, tz),
                    _clip(s.last_error or "", 60) if kind is not HealthKind.OK else "",
                ],
            )
        )
    rows.sort(key=lambda r: (r[0], r[1][1].lower()))
    header = ["STATUS", "FEED", "LAST OK", "ITEMS", "RHYTHM", "NEXT CHECK", "LAST ERROR"]
    table = [header] + [r[1] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    bad = sum(1 for r in rows if r[0] <= order[HealthKind.SILENT])
    lines.append(f"{len(rows)} feeds, {bad} need attention")
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(t: datetime | None, now: datetime, tz: tzinfo) -> str:
    if t is None:
        return "-"
    local = t.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    delta = (t - now).total_seconds()
    rel = f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(-delta)} ago"
    return f"{local} ({rel})"


async def cmd_feeds_list(
    storage: Storage, out: TextIO, tz: tzinfo, now: datetime | None = None
) -> int:
    """Print the feed health table. Returns 0."""
    states = await storage.list_feeds()
    out.write(render_feed_table(states, now or datetime.now(UTC), tz))
    return 0


def append_feed_entry(text: str, url: str, name: str | None) -> str:
    """``text`` (a feeds file) with one more feed appended to its ``feeds:`` list.

    Works on the text so comments and layout survive: the entry goes after the last item of
    the list, with the list's own indentation. Values are written as double-quoted YAML
    scalars. Does not validate; the caller re-parses the result.
    """
    entry_lines = [f"- url: {json.dumps(url)}"]
    if name:
        entry_lines.append(f"  name: {json.dumps(name, ensure_ascii=False)}")
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if _FEEDS_KEY_RE.match(ln)), None)
    if start is None:
        empty = next((i for i, ln in enumerate(lines) if _EMPTY_FEEDS_RE.match(ln)), None)
        block = ["  " + e for e in entry_lines]
        if empty is not None:
            lines[empty : empty + 1] = ["feeds:", *block]
        else:
            if lines and lines[-1].strip():
                lines.append("")
            lines += ["feeds:", *block]
        return "\n".join(lines) + "\n"
    end = start + 1
    last_item = start
    indent: str | None = None
    while end < len(lines):
        ln = lines[end]
        stripped = ln.strip()
        if stripped and not ln[0].isspace() and not ln.startswith(("-", "#")):
            break  # the next top-level key
        if stripped and not stripped.startswith("#"):
            last_item = end
            if indent is None and stripped.startswith("-"):
                indent = ln[: len(ln) - len(ln.lstrip())]
        end += 1
    pad = "  " if indent is None else indent
    lines[last_item + 1 : last_item + 1] = [pad + e for e in entry_lines]
    return "\n".join(lines) + "\n"


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


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


@dataclass(frozen=True, slots=True)
class AddFeedResult:
    """What adding a feed did: ``ok`` (added or already listed) and a one-line message."""

    ok: bool
    message: str
    feed_url: str | None = None


async def add_feed(
    url: str,
    feeds_file: Path,
    fetcher: FeedFetcher,
    *,
    allow_private: bool = False,
    name: str | None = None,
    default_interval_s: float = 300.0,
) -> AddFeedResult:
    """Check ``url`` (fetch once, parse; an HTML page leads to its feed) and append the feed to
    ``feeds_file``. Shared by ``newswatch feeds add`` and the admin ``/addfeed`` command.

    The file is only rewritten when the new text still parses as a valid feeds file.
    """
    url = url.strip()
    try:
        text = await asyncio.to_thread(_read_text, feeds_file)
        existing = parse_feeds_yaml(text, str(feeds_file), default_interval_s)
    except (ConfigError, OSError) as e:
        return AddFeedResult(False, f"cannot add: {e}")
    known = {f.url for f in existing.feeds}
    if url in known:
        return AddFeedResult(True, f"already listed in {feeds_file}: {url}", url)
    probe = await inspect_feed_url(url, fetcher, allow_private)
    if not probe.ok or probe.feed_url is None:
        return AddFeedResult(False, f"cannot add {url}: {probe.problem}")
    if probe.feed_url in known:
        return AddFeedResult(True, f"already listed in {feeds_file}: {probe.feed_url}", url)
    new_text = append_feed_entry(text, probe.feed_url, name or probe.title)
    try:
        parse_feeds_yaml(new_text, str(feeds_file), default_interval_s)
        await asyncio.to_thread(write_file_atomically, feeds_file, new_text)
    except (ConfigError, OSError) as e:
        return AddFeedResult(False, f"cannot add: {e}")
    via = f" (found on {probe.discovered_from})" if probe.discovered_from else ""
    return AddFeedResult(
        True,
        f"added {probe.title or probe.feed_url!r}: {probe.item_count} items, "
        f"{probe.feed_url}{via} -> {feeds_file}",
        probe.feed_url,
    )


async def cmd_feeds_add(
    url: str,
    feeds_file: Path,
    fetcher_factory: Callable[[], FeedFetcher],
    out: TextIO,
    *,
    allow_private: bool = False,
    name: str | None = None,
    default_interval_s: float = 300.0,
) -> int:
    """``newswatch feeds add URL``: ``add_feed`` with a fetcher of its own; prints one line.

    Returns 0 when added (or already listed), 1 otherwise.
    """
    async with fetcher_factory() as fetcher:
        result = await add_feed(
            url,
            feeds_file,
            fetcher,
            allow_private=allow_private,
            name=name,
            default_interval_s=default_interval_s,
        )
    out.write(result.message + "\n")
    return 0 if result.ok else 1
