"""The pure scheduling functions: hints, jitter, adaptive bounds and back-off."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest

from tests.watchers.conftest import NOW
from watchers.schedule import (
    PollSettings,
    adaptive_interval_s,
    backoff_s,
    next_check_after_failure,
    next_check_after_success,
    parse_expires,
    parse_max_age,
    parse_retry_after,
    server_hint_s,
    with_jitter,
)

S = PollSettings(default_interval_s=300, jitter_fraction=0.0)


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after("Fri, 11 Jul 2025 12:30:00 GMT", NOW) == 1800.0
    assert parse_retry_after("Fri, 11 Jul 2025 11:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_cache_control_and_expires() -> None:
    assert parse_max_age("public, max-age=900") == 900.0
    assert parse_max_age("max-age=60, s-maxage=1200") == 1200.0
    assert parse_max_age("no-cache, max-age=900") is None
    assert parse_max_age("max-age=0") is None
    assert parse_expires("Fri, 11 Jul 2025 13:00:00 GMT", NOW) == 3600.0
    assert parse_expires("0", NOW) is None
    assert parse_expires("Fri, 11 Jul 2025 11:00:00 GMT", NOW) is None


def test_server_hint_takes_the_longest_and_cache_control_beats_expires() -> None:
    headers = {"cache-control": "max-age=600", "expires": "Fri, 11 Jul 2025 18:00:00 GMT"}
    assert server_hint_s(headers, None, NOW) == 600.0
    assert server_hint_s(headers, 1800.0, NOW) == 1800.0
    assert server_hint_s({"expires": "Fri, 11 Jul 2025 12:20:00 GMT"}, None, NOW) == 1200.0
    assert server_hint_s({}, None, NOW) is None


def test_success_honours_hints_but_caps_them() -> None:
    plain = next_check_after_success(NOW, None, None, {}, None, S)
    assert plain == NOW + timedelta(seconds=300)
    ttl = next_check_after_success(NOW, None, None, {}, 3600.0, S)
    assert ttl == NOW + timedelta(hours=1)
    short = next_check_after_success(NOW, 900, None, {"cache-control": "max-age=60"}, None, S)
    assert short == NOW + timedelta(seconds=900)  # a short hint never makes us poll faster
    week = next_check_after_success(NOW, None, None, {}, 7 * 86400.0, S)
    assert week == NOW + timedelta(seconds=S.max_hint_s)


def test_adaptive_stays_within_bounds() -> None:
    a = PollSettings(adaptive=True, min_interval_s=120, max_interval_s=3600)
    assert adaptive_interval_s(300, None, a) == 300
    assert adaptive_interval_s(300, 10.0, a) == 120  # busy feed: as often as allowed
    assert adaptive_interval_s(300, 1200.0, a) == 600  # twice per usual gap
    assert adaptive_interval_s(300, 86400.0, a) == 3600  # quiet feed: capped
    assert adaptive_interval_s(300, 10.0, S) == 300  # off unless enabled


def test_jitter_spreads_within_the_fraction() -> None:
    assert with_jitter(100, 0.1, lambda: 0.0) == pytest.approx(90)
    assert with_jitter(100, 0.1, lambda: 1.0) == pytest.approx(110)
    assert with_jitter(100, 0.0, lambda: 1.0) == 100


def test_backoff_doubles_up_to_a_day() -> None:
    assert [backoff_s(n, 60, S) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff_s(40, 60, S) == 86400


def test_failure_honours_retry_after_and_never_undercuts_it() -> None:
    jittery = PollSettings(default_interval_s=300, jitter_fraction=0.2)
    for r in (0.0, 0.5, 1.0):
        when = next_check_after_failure(NOW, 1, 3600.0, None, jittery, functools.partial(float, r))
        assert NOW + timedelta(hours=1) <= when <= NOW + timedelta(hours=1.2)
    capped = next_check_after_failure(NOW, 1, 10 * 86400.0, None, S)
    assert capped == NOW + timedelta(days=1)
