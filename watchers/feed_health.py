"""Feed health: per-feed rhythm bookkeeping, the table people read, and what to tell admins.

Pure functions over ``FeedState`` values and a ``now``. Does no I/O: the pipeline calls
``record_new_items`` after ingesting a poll's articles, the app calls ``feeds_to_report`` on a
timer, sends the reports and saves ``mark_reported`` states so each problem is reported once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from core.models import FeedState
from watchers.schedule import DAY_S

_EWMA_WEIGHT = 0.3  # weight of the newest gap in the average rhythm


class HealthKind(StrEnum):
    OK = "ok"
    NEW = "new"  # never polled successfully yet, and not failing long
    FAILING = "failing"
    DISABLED = "disabled"
    SILENT = "silent"


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When a feed is worth an admin message.

    Failing: errors without a success for ``failing_after_s`` (default a day). Silent: no new
    item for ``silence_factor`` times its usual gap and at least ``min_silence_s``.
    """

    failing_after_s: float = DAY_S
    silence_factor: float = 5.0
    min_silence_s: float = DAY_S


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One problem worth an admin message: which feed, what kind, since when, in one line."""

    url: str
    name: str | None
    kind: HealthKind
    since: datetime
    message: str


def record_new_items(state: FeedState, new_count: int, now: datetime) -> FeedState:
    """Update items seen, last new item time and the average gap between new items.

    ``new_count`` is what storage reported as NEW for one poll. The average is an exponential
    moving average of the per-item gap, so a feed's rhythm follows it slowly. A feed's first
    poll only sets the starting point (its items are old news, not a rhythm).
    """
    if new_count <= 0:
        return state
    avg = state.avg_new_item_interval_s
    if state.last_new_item_at is not None:
        gap = max(0.0, (now - state.last_new_item_at).total_seconds()) / new_count
        avg = gap if avg is None else (1 - _EWMA_WEIGHT) * avg + _EWMA_WEIGHT * gap
    return replace(
        state,
        items_seen=state.items_seen + new_count,
        last_new_item_at=now,
        avg_new_item_interval_s=avg,
    )


def classify(
    state: FeedState, now: datetime, policy: HealthPolicy = HealthPolicy()
) -> tuple[HealthKind, datetime | None]:
    """The feed's health and since when the current problem exists (None when healthy)."""
    if state.disabled_reason:
        return HealthKind.DISABLED, state.failing_since or state.last_error_at or now
    if state.consecutive_errors > 0 and state.failing_since is not None:
        return HealthKind.FAILING, state.failing_since
    silent_since = _silent_since(state, policy)
    if silent_since is not None and silent_since <= now:
        return HealthKind.SILENT, silent_since
    if state.last_success_at is None:
        return HealthKind.NEW, None
    return HealthKind.OK, None


def _silent_since(state: FeedState, policy: HealthPolicy) -> datetime | None:
    if state.last_new_item_at is None or not state.avg_new_item_interval_s:
        return None
    quiet_s = max(policy.min_silence_s, policy.silence_factor * state.avg_new_item_interval_s)
    return state.last_new_item_at + timedelta(seconds=quiet_s)


def feeds_to_report(
    states: Iterable[FeedState], now: datetime, policy: HealthPolicy = HealthPolicy()
) -> list[HealthReport]:
    """Problems not yet reported: disabled feeds at once, failing feeds after a day, silent
    feeds past their rhythm. A problem is reported once: ``health_reported_at`` at or after
    its start means admins already know."""
    reports: list[HealthReport] = []
    for state in states:
        if not state.enabled:
            continue
        kind, since = classify(state, now, policy)
        if since is None or kind in (HealthKind.OK, HealthKind.NEW):
            continue
        if kind is HealthKind.FAILING and (now - since).total_seconds() < policy.failing_after_s:
            continue
        if state.health_reported_at is not None and state.health_reported_at >= since:
            continue
        reports.append(
            HealthReport(state.url, state.name, kind, since, _message(state, kind, since, now))
        )
    return reports


def mark_reported(state: FeedState, now: datetime) -> FeedState:
    return replace(state, health_reported_at=now)


def _message(state: FeedState, kind: HealthKind, since: datetime, now: datetime) -> str:
    label = state.name or state.url
    if kind is HealthKind.DISABLED:
        return f"{label}: disabled ({state.disabled_reason}); remove it or fix the URL"
    if kind is HealthKind.FAILING:
        return (
            f"{label}: failing for {format_duration((now - since).total_seconds())} "
            f"({state.consecutive_errors} errors in a row), last error: {state.last_error}"
        )
    usual = format_duration(state.avg_new_item_interval_s or 0)
    quiet = format_duration((now - (state.last_new_item_at or now)).total_seconds())
    return f"{label}: no new item for {quiet} (usually one every {usual})"


def format_duration(seconds: float) -> str:
    """``45s``, ``12m``, ``3h``, ``2d 4h``: short, for tables and messages."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h" if m == 0 else f"{h}h {m}m"
    d, h = divmod(s // 3600, 24)
    return f"{d}d" if h == 0 else f"{d}d {h}h"
