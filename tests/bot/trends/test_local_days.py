"""Folding UTC buckets into a reader's days: UTC+7, a DST zone across both changes, a skipped
and a repeated midnight, half- and quarter-hour zones, and UTC exactly as UTC days. Pure."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.trends.local_days import day_bounds, fold, grain_s, midnight

HOUR = timedelta(hours=1)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def every_hour(start: datetime, end: datetime, n: int = 1) -> dict[datetime, int]:
    hours = int((end - start) / HOUR)
    return {start + HOUR * i: n for i in range(hours)}


def test_a_day_in_ho_chi_minh_city_runs_from_17_00_utc() -> None:
    bounds = day_bounds(date(2025, 7, 11), 2, HCM)
    assert bounds == [utc(2025, 7, 9, 17), utc(2025, 7, 10, 17), utc(2025, 7, 11, 17)]
    # 16:00 UTC is 23:00 local, the 10th; 18:00 UTC is 01:00 local, already the 11th
    counts = {utc(2025, 7, 10, 16): 2, utc(2025, 7, 10, 18): 3, utc(2025, 7, 10, 17): 1}
    assert fold(counts, bounds) == [2, 4]
    # outside the days: left out, before and after
    assert fold({utc(2025, 7, 9, 16): 5, utc(2025, 7, 11, 17): 5}, bounds) == [0, 0]


def test_berlin_has_a_23_hour_day_in_march_and_a_25_hour_one_in_october() -> None:
    spring = day_bounds(date(2025, 3, 31), 3, BERLIN)  # clocks go forward on the 30th
    assert spring[1] == utc(2025, 3, 29, 23)  # midnight at +01:00
    assert spring[2] == utc(2025, 3, 30, 22)  # the next at +02:00
    assert fold(every_hour(spring[0], spring[-1]), spring) == [24, 23, 24]
    autumn = day_bounds(date(2025, 10, 27), 3, BERLIN)  # back on the 26th
    assert fold(every_hour(autumn[0], autumn[-1]), autumn) == [24, 25, 24]
    assert [b.hour for b in autumn] == [22, 22, 23, 23]


def test_a_skipped_midnight_starts_the_day_at_the_change_and_a_repeated_one_at_the_first() -> None:
    havana = ZoneInfo("America/Havana")  # its clocks change at midnight
    # 2025-03-09: 00:00 (-05:00) becomes 01:00 (-04:00); the day begins at that instant
    assert midnight(date(2025, 3, 9), havana) == utc(2025, 3, 9, 5)
    assert midnight(date(2025, 3, 10), havana) == utc(2025, 3, 10, 4)
    # 2025-11-02: 01:00 (-04:00) goes back to 00:00 (-05:00); the day began at the first 00:00
    assert midnight(date(2025, 11, 2), havana) == utc(2025, 11, 2, 4)
    assert midnight(date(2025, 11, 3), havana) == utc(2025, 11, 3, 5)
    bounds = day_bounds(date(2025, 11, 2), 1, havana)
    assert fold(every_hour(bounds[0], bounds[-1]), bounds) == [25]


def test_whole_hour_zones_fold_hours_and_others_need_half_or_quarter_hours() -> None:
    def grain(zone: str) -> int:
        return grain_s(day_bounds(date(2025, 7, 11), 30, ZoneInfo(zone)))

    assert grain("UTC") == grain("Asia/Ho_Chi_Minh") == grain("Europe/Berlin") == 3600
    assert grain("Asia/Kolkata") == 1800  # midnight is 18:30 UTC
    assert grain("Asia/Kathmandu") == 900  # 18:15 UTC
    assert grain("Australia/Adelaide") == 1800  # +09:30 / +10:30
    kolkata = day_bounds(date(2025, 7, 11), 1, ZoneInfo("Asia/Kolkata"))
    assert kolkata == [utc(2025, 7, 10, 18, 30), utc(2025, 7, 11, 18, 30)]
    half_hours = {utc(2025, 7, 10, 18): 1, utc(2025, 7, 10, 18, 30): 2, utc(2025, 7, 11, 18): 4}
    assert fold(half_hours, kolkata) == [6]


def test_in_utc_the_days_are_utc_days() -> None:
    """What the trends counted before time zones: per UTC date."""
    start = utc(2025, 6, 1)
    hours = {start + HOUR * i: (i * 7919) % 5 for i in range(24 * 40)}
    bounds = day_bounds(date(2025, 7, 10), 40, ZoneInfo("UTC"))
    assert bounds[0] == start
    by_date: Counter[date] = Counter()
    for t, n in hours.items():
        by_date[t.date()] += n
    assert fold(hours, bounds) == [by_date[b.date()] for b in bounds[:-1]]


def test_no_days_no_counts() -> None:
    assert fold({utc(2025, 7, 1): 3}, [utc(2025, 7, 1)]) == []
