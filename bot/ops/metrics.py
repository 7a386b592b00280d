"""Operational metrics: a small in-process registry rendered in the Prometheus text format.

The application calls the objects on ``metrics`` (the process-wide ``Metrics`` instance), for
example ``metrics.polls.inc(feed=url)``; ``bot.ops.http_health`` serves
``metrics.registry.render()`` at ``/metrics``. Why our own registry instead of
``prometheus_client``: see docs/operations.md.

Does not start any server, does not read the database and does not log: callers push values in
(``outbox_depth`` is set by whoever counts the outbox). ``LoopLagMonitor`` is the one active part.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

LabelValues = tuple[str, ...]

# Seconds; delivery latency spans "sent at once" to "queued through a Telegram outage".
LATENCY_BUCKETS_S: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)
LOOP_LAG_BUCKETS_S: tuple[float, ...] = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _format_labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    inner = ",".join(f'{n}="{_escape_label_value(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + inner + "}"


class _Metric:
    """Shared parts: name, help text, label names and the label-value check."""

    type_name = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL_RE.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"invalid label name {label!r} for {name}")
        self.name = name
        self.help = help_text
        self.labelnames: tuple[str, ...] = tuple(labelnames)

    def _key(self, labels: dict[str, object]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            expected = ", ".join(self.labelnames) or "no labels"
            got = ", ".join(sorted(labels)) or "no labels"
            raise ValueError(f"{self.name}: expected labels ({expected}), got ({got})")
        return tuple(str(labels[n]) for n in self.labelnames)

    def _header(self) -> list[str]:
        return [
            f"# HELP {self.name} {_escape_help(self.help)}",
            f"# TYPE {self.name} {self.type_name}",
        ]

    def render(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError


_M = TypeVar("_M", bound=_Metric)


class _ValueMetric(_Metric):
    """A metric that holds one number per label set (counters and gauges)."""

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[LabelValues, float] = {}
        if not self.labelnames:
            self._values[()] = 0.0  # an unlabelled metric shows 0 before its first event

    def _add(self, amount: float, labels: dict[str, object]) -> None:
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = self._header()
        for key, value in sorted(self._values.items()):
            lines.append(
                f"{self.name}{_format_labels(self.labelnames, key)} {_format_value(value)}"
            )
        return lines


class Counter(_ValueMetric):
    """A value that only goes up (per label set). Name it ``*_total``."""

    type_name = "counter"

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot go down (inc by {amount})")
        self._add(amount, labels)


class Gauge(_ValueMetric):
    """A value that goes up and down (per label set)."""

    type_name = "gauge"

    def set(self, value: float, **labels: object) -> None:
        self._values[self._key(labels)] = float(value)

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        self._add(amount, labels)

    def dec(self, amount: float = 1.0, **labels: object) -> None:
        self._add(-amount, labels)


class _HistogramSeries:
    __slots__ = ("bucket_counts", "count", "total")

    def __init__(self, n_buckets: int) -> None:
        self.bucket_counts = [0] * n_buckets
        self.count = 0
        self.total = 0.0


class Histogram(_Metric):
    """Counts observations into cumulative buckets, with their sum and count."""

    type_name = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = LATENCY_BUCKETS_S,
    ) -> None:
        super().__init__(name, help_text, labelnames)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds:
            raise ValueError(f"{name}: a histogram needs at least one finite bucket")
        self.buckets: tuple[float, ...] = (*bounds, math.inf)
        self._series: dict[LabelValues, _HistogramSeries] = {}
        if not self.labelnames:
            self._series[()] = _HistogramSeries(len(self.buckets))

    def observe(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _HistogramSeries(len(self.buckets))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                series.bucket_counts[i] += 1
                break
        series.count += 1
        series.total += value

    def count(self, **labels: object) -> int:
        series = self._series.get(self._key(labels))
        return 0 if series is None else series.count

    def sum(self, **labels: object) -> float:
        series = self._series.get(self._key(labels))
        return 0.0 if series is None else series.total

    def render(self) -> list[str]:
        lines = self._header()
        for key, series in sorted(self._series.items()):
            cumulative = 0
            for bound, n in zip(self.buckets, series.bucket_counts, strict=True):
                cumulative += n
                labels = _format_labels((*self.labelnames, "le"), (*key, _format_value(bound)))
                lines.append(f"{self.name}_bucket{labels} {cumulative}")
            plain = _format_labels(self.labelnames, key)
            lines.append(f"{self.name}_sum{plain} {_format_value(series.total)}")
            lines.append(f"{self.name}_count{plain} {series.count}")
        return lines


class Registry:
    """An ordered set of metrics with unique names, rendered together."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: _M) -> _M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name!r} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self.register(Counter(name, help_text, labelnames))

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self.register(Gauge(name, help_text, labelnames))

    def histogram(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = LATENCY_BUCKETS_S,
    ) -> Histogram:
        return self.register(Histogram(name, help_text, labelnames, buckets))

    def render(self) -> str:
        """The whole registry in the Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


class Metrics:
    """Every metric newswatch exports. One instance per process (``metrics`` below).

    Error kinds are a small closed vocabulary so the series stay few: ``fetch``, ``parse``,
    ``storage``, ``rules``, ``telegram``, ``config``, ``internal``.
    """

    def __init__(self) -> None:
        r = self.registry = Registry()
        self.polls = r.counter("newswatch_polls_total", "Feed polls attempted.", ("feed",))
        self.errors = r.counter("newswatch_errors_total", "Errors by kind.", ("kind",))
        self.items_seen = r.counter(
            "newswatch_items_seen_total", "Feed items parsed from polled feeds.", ("feed",)
        )
        self.matches = r.counter(
            "newswatch_matches_total", "New rule matches stored, by rule.", ("rule",)
        )
        self.alerts_sent = r.counter(
            "newswatch_alerts_sent_total", "Alerts accepted by Telegram (or printed offline)."
        )
        self.delivery_latency = r.histogram(
            "newswatch_delivery_latency_seconds",
            "Time from a delivery being queued to Telegram accepting it.",
            buckets=LATENCY_BUCKETS_S,
        )
        self.outbox_depth = r.gauge(
            "newswatch_outbox_depth", "Deliveries waiting in the outbox (pending or retrying)."
        )
        self.telegram_429 = r.counter(
            "newswatch_telegram_rate_limited_total",
            "Telegram 429 Too Many Requests answers (RetryAfter).",
        )
        self.loop_lag = r.histogram(
            "newswatch_event_loop_lag_seconds",
            "How late a periodic timer fired: time the event loop was blocked.",
            buckets=LOOP_LAG_BUCKETS_S,
        )
        self.loop_lag_last = r.gauge(
            "newswatch_event_loop_lag_last_seconds", "The most recent event-loop lag measurement."
        )
        self.started_at = r.gauge(
            "newswatch_start_time_seconds", "Unix time at which the process started."
        )
        self.started_at.set(time.time())


metrics = Metrics()
"""The process-wide metrics: ``metrics.polls.inc(feed=url)``."""


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
