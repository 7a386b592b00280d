"""When to poll a feed next: intervals, jitter, adaptive pacing, server hints and back-off.

Pure functions over numbers, header strings and datetimes. Does no I/O and keeps no state:
the poller feeds in what it saw and stores the answer in ``FeedState.next_check_at``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

DAY_S: Final = 86400.0
_MAX_AGE_RE: Final = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PollSettings:
    """Polling policy shared by all feeds (per-feed intervals come from ``FeedState``).

    ``adaptive`` paces a feed by its own rhythm (average time between new items) within
    ``min_interval_s``..``max_interval_s``. Server hints (RSS ttl, Cache-Control max-age,
    Expires) can lengthen the interval, never beyond ``max_hint_s``. Failures back off
    exponentially from ``backoff_base_s`` up to ``backoff_cap_s`` (about a day) and never stop.
    """

    default_interval_s: float = 300.0
    jitter_fraction: float = 0.1
    adaptive: bool = False
    min_interval_s: float = 60.0
    max_interval_s: float = 6 * 3600.0
    max_hint_s: float = 6 * 3600.0
    backoff_base_s: float = 60.0
    backoff_cap_s: float = DAY_S
    max_body_bytes: int = 10 * 1024 * 1024
    allow_private: bool = False
    alert_on_first_poll: bool = False


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    return _seconds_until(value, now)


def parse_max_age(cache_control: str | None) -> float | None:
    """``Cache-Control`` ``s-maxage``/``max-age`` in seconds; None when absent, zero or no-store.

    ``no-cache``/``no-store`` give no hint (they speak about caches, not about polling rudely).
    """
    if not cache_control:
        return None
    low = cache_control.lower()
    if "no-store" in low or "no-cache" in low:
        return None
    ages = {m.group(1).lower(): float(m.group(2)) for m in _MAX_AGE_RE.finditer(cache_control)}
    age = ages.get("s-maxage", ages.get("max-age"))
    return age if age else None


def parse_expires(value: str | None, now: datetime) -> float | None:
    """``Expires`` as seconds from ``now``; None when absent, invalid or in the past."""
    if not value:
        return None
    seconds = _seconds_until(value.strip(), now)
    return seconds if seconds and seconds > 0 else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def server_hint_s(headers: Mapping[str, str], ttl_s: float | None, now: datetime) -> float | None:
    """The longest "do not ask again before" the server gave: RSS ttl, max-age or Expires."""
    hints = [
        h
        for h in (
            ttl_s,
            parse_max_age(headers.get("cache-control")),
            None if "cache-control" in headers else parse_expires(headers.get("expires"), now),
        )
        if h
    ]
    return max(hints) if hints else None


def adaptive_interval_s(
    base_s: float, avg_new_item_interval_s: float | None, settings: PollSettings
) -> float:
    """Poll about twice per usual gap between new items, within the configured bounds."""
    if not settings.adaptive or not avg_new_item_interval_s:
        return base_s
    return min(settings.max_interval_s, max(settings.min_interval_s, avg_new_item_interval_s / 2))


def backoff_s(consecutive_errors: int, base_s: float, settings: PollSettings) -> float:
    """Exponential back-off after ``consecutive_errors`` failures: ``base_s`` doubled per
    further failure, capped at ``backoff_cap_s``."""
    n = max(1, consecutive_errors)
    return min(settings.backoff_cap_s, base_s * (2.0 ** min(n - 1, 30)))


def with_jitter(
    seconds: float, fraction: float, rand: Callable[[], float] = random.random
) -> float:
    """Spread ``seconds`` uniformly over ±``fraction`` so feeds do not poll in lockstep."""
    if fraction <= 0:
        return seconds
    return seconds * (1.0 + fraction * (2.0 * rand() - 1.0))


def next_check_after_success(
    now: datetime,
    interval_s: float | None,
    avg_new_item_interval_s: float | None,
    headers: Mapping[str, str],
    ttl_s: float | None,
    settings: PollSettings,
    rand: Callable[[], float] = random.random,
) -> datetime:
    """Next poll after a 200 or 304: the feed's interval (adaptive if enabled), never sooner
    than the server asked (capped at ``max_hint_s``), jittered."""
    base = interval_s or settings.default_interval_s
    seconds = adaptive_interval_s(base, avg_new_item_interval_s, settings)
    hint = server_hint_s(headers, ttl_s, now)
    if hint is not None:
        seconds = max(seconds, min(hint, settings.max_hint_s))
    return now + timedelta(seconds=with_jitter(seconds, settings.jitter_fraction, rand))


def next_check_after_failure(
    now: datetime,
    consecutive_errors: int,
    retry_after_s: float | None,
    interval_s: float | None,
    settings: PollSettings,
    rand: Callable[[], float] = random.random,
) -> datetime:
    """Next poll after an error: exponential back-off starting from the feed's normal interval
    (never sooner: a failing site is not hammered), at least ``Retry-After``, all capped at
    ``backoff_cap_s``."""
    base = max(settings.backoff_base_s, interval_s or settings.default_interval_s)
    seconds = backoff_s(consecutive_errors, base, settings)
    if retry_after_s is not None:
        seconds = max(seconds, retry_after_s)
    seconds = min(seconds, settings.backoff_cap_s)
    # Jitter only upward, so a server's Retry-After is never undercut.
    extra = with_jitter(seconds, settings.jitter_fraction, rand) - seconds
    return now + timedelta(seconds=seconds + abs(extra))
