"""Operational metrics: newswatch's ``prometheus_client`` metrics, one registry per app.

``Metrics`` builds every metric newswatch exports into a ``CollectorRegistry`` of its own, so two
apps (or two tests) in one process count independently; nothing is registered in
``prometheus_client``'s global ``REGISTRY``. The running app creates one (``App.metrics``, also
``Services.metrics``) and the parts that record hold it: ``metrics.polls.labels(feed=url).inc()``.
``bot.ops.http_health`` serves ``generate_latest(metrics.registry)`` at ``/metrics``.

Does not start any server, does not read the database and does not log: callers push values in
(``outbox_depth`` is set by whoever counts the outbox). ``LoopLagMonitor`` is the one active part.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

# The ``*_created`` series that prometheus_client adds to every counter and histogram would be
# new families in /metrics (one gauge each in the 0.0.4 text format) that no dashboard reads and
# that our exposition never had. The switch is process-wide; newswatch is its only user here.
disable_created_metrics()  # type: ignore[no-untyped-call]  # the library leaves it unannotated

# Seconds; delivery latency spans "sent at once" to "queued through a Telegram outage".
LATENCY_BUCKETS_S: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)
LOOP_LAG_BUCKETS_S: tuple[float, ...] = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)


class Metrics:
    """Every metric newswatch exports, in a registry of their own (``registry``).

    One instance per app: ``App`` creates it and hands it on through ``Services``. Error kinds
    are a small closed vocabulary so the series stay few: ``fetch``, ``parse``, ``storage``,
    ``rules``, ``telegram``, ``config``, ``internal``.
    """

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.polls = Counter(
            "newswatch_polls_total", "Feed polls attempted.", ("feed",), registry=r
        )
        self.errors = Counter("newswatch_errors_total", "Errors by kind.", ("kind",), registry=r)
        self.items_seen = Counter(
            "newswatch_items_seen_total",
            "Feed items parsed from polled feeds.",
            ("feed",),
            registry=r,
        )
        self.matches = Counter(
            "newswatch_matches_total", "New rule matches stored, by rule.", ("rule",), registry=r
        )
        self.alerts_sent = Counter(
            "newswatch_alerts_sent_total",
            "Alerts accepted by Telegram (or printed offline).",
            registry=r,
        )
        self.delivery_latency = Histogram(
            "newswatch_delivery_latency_seconds",
            "Time from a delivery being queued to Telegram accepting it.",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "newswatch_outbox_depth",
            "Deliveries waiting in the outbox (pending or retrying).",
            registry=r,
        )
        self.telegram_429 = Counter(
            "newswatch_telegram_rate_limited_total",
            "Telegram 429 Too Many Requests answers (RetryAfter).",
            registry=r,
        )
        self.telegram_updates = Counter(
            "newswatch_telegram_updates_total",
            "Updates POSTed to the webhook, by outcome (accepted, repeated, refused, failed).",
            ("outcome",),
            registry=r,
        )
        self.loop_lag = Histogram(
            "newswatch_event_loop_lag_seconds",
            "How late a periodic timer fired: time the event loop was blocked.",
            buckets=LOOP_LAG_BUCKETS_S,
            registry=r,
        )
        self.loop_lag_last = Gauge(
            "newswatch_event_loop_lag_last_seconds",
            "The most recent event-loop lag measurement.",
            registry=r,
        )
        self.started_at = Gauge(
            "newswatch_start_time_seconds", "Unix time at which the process started.", registry=r
        )
        self.started_at.set(time.time())

    def value(self, name: str, **labels: str) -> float:
        """One sample's current value (0 when the series has no sample yet), by its exposed
        name: ``value("newswatch_polls_total", feed=url)``,
        ``value("newswatch_event_loop_lag_seconds_count")``. For tests; the recording code
        never reads metrics back."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found


class LoopLagMonitor:
    """Measures event-loop lag: sleeps ``interval_s`` and records how much later it woke.

    A healthy loop wakes within a millisecond or two; a long synchronous call (a big feed parsed
    on the loop, a blocking DNS lookup) shows up here as lag. Does nothing else.
    """

    def __init__(
        self,
        target: Metrics,
        interval_s: float = 1.0,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._target = target
        self._interval_s = interval_s
        self._now = now
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start measuring in a background task on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="newswatch-loop-lag"
            )

    async def stop(self) -> None:
        """Cancel the background task and wait for it to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def measure_once(self) -> float:
        """Sleep one interval, record the lag and return it (seconds, never negative)."""
        started = self._now()
        await self._sleep(self._interval_s)
        lag = max(0.0, self._now() - started - self._interval_s)
        self._target.loop_lag.observe(lag)
        self._target.loop_lag_last.set(lag)
        return lag

    async def _run(self) -> None:
        while True:
            await self.measure_once()
