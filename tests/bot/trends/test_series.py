"""A rule's trend series by the reader's day, on SQLite and PostgreSQL: UTC days exactly as
before time zones, Ho Chi Minh City's days from 17:00 UTC, Asia/Kolkata's from 18:30 UTC (read
in half hours), a DST change in Berlin, and hours labelled but not moved by a zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.trends.series import TrendSeries, trend_series
from bot.trends.stats import WINDOW, judge_series
from storage import SqlStorage
from tests.support.storage_helpers import make_article, match

NOW = datetime(2025, 7, 11, 12, 40, tzinfo=UTC)  # 19:40 in Ho Chi Minh City, 18:10 in Kolkata
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


async def _store_at(store: SqlStorage, times: list[datetime], rule_id: str = "csp") -> None:
    for i, when in enumerate(times):
        await store.ingest(make_article(len(times) * 1000 + i), [match(rule_id)], when, alert=False)


async def _utc_series_before_time_zones(
    store: SqlStorage, rule_id: str, now: datetime, days: int
) -> TrendSeries:
    """``trend_series`` as it was, UTC days only: the reference the UTC case must equal."""
    last = now.replace(hour=0, minute=0, second=0, microsecond=0)
    history_start = last - DAY * (days - 1) - DAY * WINDOW
    counts = {t: n for _r, t, n in await store.match_counts(history_start, "day", rule_id)}
    starts = [history_start + DAY * i for i in range(WINDOW + days)]
    judged = judge_series([counts.get(t, 0) for t in starts])
    return TrendSeries(rule_id, "day", tuple(starts[WINDOW:]), tuple(judged[WINDOW:]))


def _counts(series: TrendSeries) -> list[int]:
    return [j.count for j in series.judgements]


async def test_utc_days_are_what_they_were(store: SqlStorage) -> None:
    times = [NOW - HOUR * (7 * i % 900) - timedelta(minutes=i % 60) for i in range(200)]
    times += [NOW.replace(hour=0, minute=0) + timedelta(minutes=i) for i in range(9)]  # a burst
    await _store_at(store, times)
    for days in (7, 30):
        got = await trend_series(store, "csp", NOW, days)
        want = await _utc_series_before_time_zones(store, "csp", NOW, days)
        assert got.starts == want.starts
        assert got.judgements == want.judgements
        assert got.tz == ZoneInfo("UTC")
        assert got.judgements[-1].count >= 9  # today's burst, counted today


async def test_ho_chi_minh_city_days_run_from_17_00_utc(store: SqlStorage) -> None:
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    yesterday = NOW - DAY  # 2025-07-10
    await _store_at(
        store,
        [yesterday.replace(hour=16, minute=30)] * 2  # 23:30 local, the 10th
        + [yesterday.replace(hour=18, minute=0)] * 3  # 01:00 local, the 11th
        + [NOW.replace(hour=12, minute=0)],  # 19:00 local, the 11th
    )
    local = await trend_series(store, "csp", NOW, 7, "day", hcm)
    assert local.starts[-1] == datetime(2025, 7, 10, 17, tzinfo=UTC)  # local midnight, the 11th
    assert local.starts[-1].astimezone(hcm).hour == 0
    assert _counts(local)[-2:] == [2, 4]
    assert local.tz == hcm
    utc = await trend_series(store, "csp", NOW, 7, "day")
    assert _counts(utc)[-2:] == [5, 1]  # the same stories by UTC day


async def test_kolkata_days_are_read_in_half_hours(store: SqlStorage) -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    await _store_at(
        store,
        [
            datetime(2025, 7, 10, 18, 15, tzinfo=UTC),  # 23:45 local, the 10th
            datetime(2025, 7, 10, 18, 29, 59, 999_999, tzinfo=UTC),  # 23:59:59.999999
            datetime(2025, 7, 10, 18, 30, tzinfo=UTC),  # 00:00 local, the 11th
            datetime(2025, 7, 10, 18, 45, tzinfo=UTC),  # 00:15 local, the 11th
        ],
    )
    series = await trend_series(store, "csp", NOW, 7, "day", kolkata)
    assert series.starts[-1] == datetime(2025, 7, 10, 18, 30, tzinfo=UTC)
    assert _counts(series)[-2:] == [2, 2]
    # steps counted from ``since``: from a whole hour, half hours; the last microsecond
    # before 18:30 is still in the step before
    day_before = datetime(2025, 7, 10, tzinfo=UTC)
    assert await _by_step(store, day_before, 1800, "csp") == [
        (datetime(2025, 7, 10, 18, tzinfo=UTC), 2),
        (datetime(2025, 7, 10, 18, 30, tzinfo=UTC), 2),
    ]
    odd = datetime(2025, 7, 10, 18, 10, tzinfo=UTC)
    assert await _by_step(store, odd, 1800, "csp") == [
        (odd, 3),
        (datetime(2025, 7, 10, 18, 40, tzinfo=UTC), 1),
    ]
    assert await _by_step(store, odd, 86400, "csp") == [(odd, 4)]
    assert await _by_step(store, day_before, 1800, "other") == []


async def test_berlins_day_of_the_change_is_23_hours(store: SqlStorage) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2025, 3, 31, 12, tzinfo=UTC)
    change_day = datetime(2025, 3, 29, 23, tzinfo=UTC)  # midnight of the 30th, at +01:00
    await _store_at(store, [change_day + HOUR * i for i in range(30)])  # 30 hourly stories
    series = await trend_series(store, "csp", now, 3, "day", berlin)
    assert [t.astimezone(berlin).day for t in series.starts] == [29, 30, 31]
    assert _counts(series) == [0, 23, 7]


async def test_hours_stay_utc_hours_and_only_take_the_zone_for_labels(store: SqlStorage) -> None:
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    await _store_at(store, [NOW - HOUR * i for i in range(40)])
    utc = await trend_series(store, "csp", NOW, 7, "hour")
    local = await trend_series(store, "csp", NOW, 7, "hour", hcm)
    assert local.starts == utc.starts
    assert local.judgements == utc.judgements
    assert local.tz == hcm


async def test_adelaides_change_is_folded_from_half_hours(store: SqlStorage) -> None:
    """+10:30 until 6 April 2025, 03:00 local, then +09:30: the 6th is 25 hours, and its
    midnights are at half past a UTC hour, so hours would not split them."""
    adelaide = ZoneInfo("Australia/Adelaide")
    await _store_at(
        store,
        [
            datetime(2025, 4, 5, 13, 15, tzinfo=UTC),  # 23:45 on the 5th (+10:30)
            datetime(2025, 4, 5, 13, 45, tzinfo=UTC),  # 00:15 on the 6th
            datetime(2025, 4, 6, 14, 15, tzinfo=UTC),  # 23:45 on the 6th (+09:30)
            datetime(2025, 4, 6, 14, 45, tzinfo=UTC),  # 00:15 on the 7th
        ],
    )
    now = datetime(2025, 4, 7, 3, tzinfo=UTC)  # 12:30 on the 7th there
    series = await trend_series(store, "csp", now, 3, "day", adelaide)
    assert series.starts == (
        datetime(2025, 4, 4, 13, 30, tzinfo=UTC),
        datetime(2025, 4, 5, 13, 30, tzinfo=UTC),
        datetime(2025, 4, 6, 14, 30, tzinfo=UTC),
    )
    assert _counts(series) == [1, 2, 1]


async def _by_step(
    store: SqlStorage, since: datetime, step_s: int, rule_id: str
) -> list[tuple[datetime, int]]:
    """``match_counts_by_step`` of one rule, without the rule id in each row."""
    rows = await store.match_counts_by_step(since, step_s, rule_id)
    assert {r for r, _t, _n in rows} <= {rule_id}
    return [(t, n) for _r, t, n in rows]
