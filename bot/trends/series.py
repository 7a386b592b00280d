"""A rule's counts per bucket over a period, from storage, with every empty bucket filled in,
judged by ``stats``: what the trends page, the chart and the spike alerts all start from.

Days are the reader's: ``tz``'s midnight to midnight (23 or 25 hours across a DST change).
UTC days are read by date, as they always were. Where every day of the period is 24 hours
(Asia/Ho_Chi_Minh, any zone without a change in it) storage counts them itself, in steps of a
day from the first local midnight; across a change they are folded by ``local_days.fold`` from
storage's UTC hours (or half or quarter hours, for a zone whose offset needs them).
Hours are UTC hours whatever ``tz`` (an hour is an hour everywhere, and a spike alert judges
the same hours for every chat); ``tz`` is then only the zone the chart is labelled in.
Reads storage; changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.console import Bucket, ConsoleQueries

from .local_days import counting_step_s, day_bounds, fold
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


async def day_counts(
    queries: ConsoleQueries, bounds: Sequence[datetime], rule_id: str | None = None
) -> dict[str, list[int]]:
    """Per rule (only ``rule_id``, when given), its matches in each day between ``bounds``
    (``local_days.day_bounds``); rules without a match in them are left out."""
    since = bounds[0]
    rows: Sequence[tuple[str, datetime, int]]
    if all(b.hour == 0 and b.minute == 0 and b.second == 0 for b in bounds):
        # UTC days (UTC, or a zone at +00:00 all along): by date, the query they always were
        # (on SQLite a prefix of the stored text, cheaper than its seconds: docs/benchmarks.md)
        rows = await queries.match_counts(since, "day", rule_id)
    else:
        # A period of 24-hour days (one offset all along) is counted by day in the database: a
        # few rows rather than 24 times as many hours to fold (docs/benchmarks.md).
        rows = await queries.match_counts_by_step(since, counting_step_s(bounds), rule_id)
    per_rule: dict[str, dict[datetime, int]] = {}
    for rule, start, n in rows:
        per_rule.setdefault(rule, {})[start] = n
    return {rule: fold(counts, bounds) for rule, counts in per_rule.items()}


async def _daily(
    queries: ConsoleQueries, rule_id: str, now: datetime, days: int, tz: ZoneInfo
) -> TrendSeries:
    bounds = day_bounds(now.astimezone(tz).date(), WINDOW + days, tz)
    counts = (await day_counts(queries, bounds, rule_id)).get(rule_id, [0] * (len(bounds) - 1))
    judged = judge_series(counts)
    starts = tuple(bounds[WINDOW:-1])
    return TrendSeries(rule_id, "day", starts, tuple(judged[WINDOW:]), tz)
