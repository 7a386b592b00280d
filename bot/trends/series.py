"""A rule's counts per bucket over a period, from storage, with every empty bucket filled in,
judged by ``stats``: what the trends page, the chart and the spike alerts all start from.
Reads storage; changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.console import Bucket, ConsoleQueries

from .stats import WINDOW, Judgement, judge_series


@dataclass(frozen=True, slots=True)
class TrendSeries:
    rule_id: str
    bucket: Bucket
    starts: tuple[datetime, ...]
    judgements: tuple[Judgement, ...]


def _floor(t: datetime, bucket: Bucket) -> datetime:
    t = t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if bucket == "day" else t


async def trend_series(
    queries: ConsoleQueries, rule_id: str, now: datetime, days: int, bucket: Bucket = "day"
) -> TrendSeries:
    """The last ``days`` days of ``rule_id`` by day or hour; the history before them (one
    ``WINDOW``) is read too, so the first shown bucket is judged like the others."""
    step = timedelta(days=1) if bucket == "day" else timedelta(hours=1)
    shown = days if bucket == "day" else days * 24
    last = _floor(now, bucket)
    first = last - step * (shown - 1)
    history_start = first - step * WINDOW
    counts = {t: n for _r, t, n in await queries.match_counts(history_start, bucket, rule_id)}
    starts = [history_start + step * i for i in range(WINDOW + shown)]
    judged = judge_series([counts.get(t, 0) for t in starts])
    return TrendSeries(rule_id, bucket, tuple(starts[WINDOW:]), tuple(judged[WINDOW:]))
