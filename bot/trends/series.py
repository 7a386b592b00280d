"""A rule's counts per bucket over a period, from storage, with every empty bucket filled in,
judged by ``stats``: what the trends page, the chart and the spike alerts all start from.

Days are the reader's: ``tz``'s midnight to midnight (23 or 25 hours across a DST change),
made of storage's UTC hours by ``local_days.fold`` (or of half or quarter hours, for a zone
whose offset needs them). In UTC the days are read from storage as days, as they always were.
Hours are UTC hours whatever ``tz`` (an hour is an hour everywhere, and a spike alert judges
the same hours for every chat); ``tz`` is then only the zone the chart is labelled in.
Reads storage; changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.console import Bucket, ConsoleQueries

from .local_days import HOUR_S, day_bounds, fold, grain_s
from .stats import WINDOW, Judgement, judge_series

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """The judged buckets: ``starts`` are UTC instants (a day's is its local midnight in
    ``tz``), and ``tz`` is the zone the days are local to and the chart is labelled in."""

    rule_id: str
    bucket: Bucket
    starts: tuple[datetime, ...]
    judgements: tuple[Judgement, ...]
    tz: ZoneInfo = _UTC


async def trend_series(
    queries: ConsoleQueries,
    rule_id: str,
    now: datetime,
    days: int,
    bucket: Bucket = "day",
    tz: ZoneInfo = _UTC,
) -> TrendSeries:
    """The last ``days`` days of ``rule_id`` by ``tz``'s day or by hour; the history before
    them (one ``WINDOW``) is read too, so the first shown bucket is judged like the others."""
    if bucket == "day":
        return await _daily(queries, rule_id, now, days, tz)
    shown = days * 24
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    history_start = last - timedelta(hours=shown - 1 + WINDOW)
    counts = {t: n for _r, t, n in await queries.match_counts(history_start, "hour", rule_id)}
    starts = [history_start + timedelta(hours=i) for i in range(WINDOW + shown)]
    judged = judge_series([counts.get(t, 0) for t in starts])
    return TrendSeries(rule_id, bucket, tuple(starts[WINDOW:]), tuple(judged[WINDOW:]), tz)


async def _daily(
    queries: ConsoleQueries, rule_id: str, now: datetime, days: int, tz: ZoneInfo
) -> TrendSeries:
    bounds = day_bounds(now.astimezone(tz).date(), WINDOW + days, tz)
    since = bounds[0]
    counts: dict[datetime, int]
    if all(b.hour == 0 and b.minute == 0 for b in bounds):
        # every midnight is a UTC one (UTC itself, or a zone at +00:00 all the while): days
        counts = {t: n for _r, t, n in await queries.match_counts(since, "day", rule_id)}
    elif (grain := grain_s(bounds)) == HOUR_S:
        counts = {t: n for _r, t, n in await queries.match_counts(since, "hour", rule_id)}
    else:
        counts = dict(await queries.match_counts_by_step(since, grain, rule_id))
    judged = judge_series(fold(counts, bounds))
    starts = tuple(bounds[WINDOW:-1])
    return TrendSeries(rule_id, "day", starts, tuple(judged[WINDOW:]), tz)
