"""A reader's days as UTC instants, and counts per UTC bucket folded into them. Pure.

A reader's day runs from their local midnight to the next one: 24 hours, or 23 or 25 on the
days daylight saving starts or ends. ``day_bounds`` gives those midnights as UTC instants
(DST-correct through ``zoneinfo``); storage counts a rule's matches in steps from the first
(a day each, when all the days are 24 hours), or per UTC hour (or finer) across a change, and
``fold`` sums those buckets into the days, each bucket into the day its start falls in.

That is exact when every local midnight is on a bucket boundary. Every midnight of a zone whose
offset is in whole hours (Asia/Ho_Chi_Minh, Europe/Berlin, UTC) is on a UTC hour, so hourly
counts do. A zone with a half- or quarter-hour offset (Asia/Kolkata, +05:30: its midnight is
18:30 UTC; Asia/Kathmandu, +05:45) needs buckets that small: ``grain_s`` says how small, and
the caller asks storage for counts in that grain. Reads nothing, knows no rule.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

HOUR_S = 3600
DAY_S = 86400
MIN_GRAIN_S = 60  # a zone's offset in whole minutes (every zone's since 1972)


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant ``day`` begins in ``tz``. Where a zone skips its midnight (a DST change
    at 00:00), the day begins at the change, its first local instant; where midnight comes twice,
    at the first."""
    # fold=0 reads a skipped or repeated wall time with the offset before the change: for a
    # skipped midnight that is the instant of the change, for a repeated one the first.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_bounds(last: date, days: int, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants of the local midnights that begin the ``days`` days ending with
    ``last``, and the one that ends ``last``: ``days + 1`` instants, oldest first."""
    first = last - timedelta(days=days - 1)
    return [midnight(first + timedelta(days=i), tz) for i in range(days + 1)]


def grain_s(bounds: Sequence[datetime]) -> int:
    """The largest bucket (seconds, dividing an hour) whose UTC boundaries fall on every one of
    ``bounds``: 3600 for a whole-hour zone, 1800 for Asia/Kolkata, 900 for Asia/Kathmandu."""
    grain = HOUR_S
    for b in bounds:
        grain = math.gcd(grain, b.minute * 60 + b.second)
    return max(grain, MIN_GRAIN_S)


def counting_step_s(bounds: Sequence[datetime]) -> int:
    """The step (seconds) to count in so that ``fold`` gives the days between ``bounds``
    exactly: a day when every day is 24 hours (one offset all along: a few rows per rule),
    else ``grain_s`` (across a DST change)."""
    if all(b - a == timedelta(days=1) for a, b in pairwise(bounds)):
        return DAY_S
    return grain_s(bounds)


def fold(counts: Mapping[datetime, int], bounds: Sequence[datetime]) -> list[int]:
    """The counts per day between ``bounds`` (``len(bounds) - 1`` days): each bucket's count
    (keyed by its UTC start) added to the day its start falls in; buckets outside are left out."""
    days = [0] * (len(bounds) - 1)
    if not days:
        return days
    for start, n in counts.items():
        if bounds[0] <= start < bounds[-1]:
            days[bisect_right(bounds, start) - 1] += n
    return days
