"""`newswatch feeds` and `newswatch feeds add URL`: the feed health table and adding a feed.

Thin command functions: they print to ``out`` and return an exit code (0 ok, 1 problem). The
health logic lives in ``watchers.feed_health``; checking a URL and appending it to
``config/feeds.yaml`` (comments and layout kept) is ``bot.runtime.feed_edits.add_feed``, shared
with the admin ``/addfeed`` command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TextIO

from bot.runtime.feed_edits import add_feed
from core.models import FeedState
from core.text import plural
from storage.base import Storage
from watchers.feed_health import HealthKind, classify, format_duration
from watchers.fetch import FeedFetcher


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
    lines.append(f"{plural(len(rows), 'feed')}, {bad} need attention")
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
    if result.detail:
        out.write(f"  ({result.detail})\n")
    return 0 if result.ok else 1
