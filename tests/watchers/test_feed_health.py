"""Feed health: rhythm bookkeeping and reporting each problem to admins once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.models import FeedState
from tests.watchers.conftest import NOW
from watchers.feed_health import (
    HealthKind,
    classify,
    feeds_to_report,
    format_duration,
    mark_reported,
    record_new_items,
)

H = timedelta(hours=1)


def test_record_new_items_tracks_rhythm() -> None:
    s = FeedState(url="u")
    s = record_new_items(s, 20, NOW)  # first poll: a starting point, no rhythm yet
    assert (s.items_seen, s.last_new_item_at, s.avg_new_item_interval_s) == (20, NOW, None)
    s = record_new_items(s, 2, NOW + 2 * H)
    assert s.avg_new_item_interval_s == 3600.0
    s = record_new_items(s, 0, NOW + 3 * H)
    assert s.last_new_item_at == NOW + 2 * H
    s = record_new_items(s, 1, NOW + 4 * H)
    assert s.avg_new_item_interval_s == 0.7 * 3600 + 0.3 * 7200
    assert s.items_seen == 23


def test_failing_feed_is_reported_once_after_a_day() -> None:
    s = FeedState(
        url="https://f.example/rss",
        name="F",
        consecutive_errors=5,
        failing_since=NOW - 23 * H,
        last_error="HTTP 503 Service Unavailable",
        last_success_at=NOW - 23 * H,
    )
    assert feeds_to_report([s], NOW) == []
    later = NOW + 2 * H
    (report,) = feeds_to_report([s], later)
    assert report.kind is HealthKind.FAILING
    assert report.message == (
        "F: failing for 1d 1h (5 errors in a row), last error: HTTP 503 Service Unavailable"
    )
    s = mark_reported(s, later)
    assert feeds_to_report([s], later + 10 * H) == []
    # It recovers, then fails again: a new problem, reported again after a day.
    again = replace(s, consecutive_errors=1, failing_since=later + 20 * H)
    assert feeds_to_report([again], later + 30 * H) == []
    assert len(feeds_to_report([again], later + 45 * H)) == 1


def test_silent_feed_is_reported_beyond_its_rhythm() -> None:
    s = FeedState(
        url="u", last_success_at=NOW, last_new_item_at=NOW - 20 * H, avg_new_item_interval_s=600
    )
    assert classify(s, NOW)[0] is HealthKind.OK  # 20 h: within the one-day minimum
    (report,) = feeds_to_report([s], NOW + 5 * H)
    assert report.kind is HealthKind.SILENT
    assert report.message == "u: no new item for 1d 1h (usually one every 10m)"
    slow = replace(s, avg_new_item_interval_s=86400)
    assert feeds_to_report([slow], NOW + 5 * H) == []  # a daily feed may be quiet for 5 days


def test_disabled_feed_is_reported_at_once_and_disabled_config_never() -> None:
    gone = FeedState(url="g", disabled_reason="410 Gone", failing_since=NOW, consecutive_errors=1)
    (r,) = feeds_to_report([gone], NOW)
    assert r.kind is HealthKind.DISABLED
    assert feeds_to_report([replace(gone, enabled=False)], NOW) == []


def test_format_duration() -> None:
    assert [format_duration(x) for x in (5, 90, 3600, 5400, 86400, 90000)] == [
        "5s",
        "1m",
        "1h",
        "1h 30m",
        "1d",
        "1d 1h",
    ]
