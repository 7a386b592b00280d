"""``Metrics`` (prometheus_client metrics in a registry per instance) and ``LoopLagMonitor``.

What ``/metrics`` exports family by family is pinned in test_metrics_exposition.py."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY, generate_latest

from bot.ops.metrics import LoopLagMonitor, Metrics


def test_each_metrics_object_has_a_registry_of_its_own() -> None:
    before = {m.name for m in REGISTRY.collect()}
    a, b = Metrics(), Metrics()  # a second instance must not clash on names
    a.polls.labels(feed="https://a.example/rss").inc()
    a.polls.labels(feed="https://a.example/rss").inc()
    a.items_seen.labels(feed="https://a.example/rss").inc(12)
    assert a.value("newswatch_polls_total", feed="https://a.example/rss") == 2
    assert a.value("newswatch_items_seen_total", feed="https://a.example/rss") == 12
    assert b.value("newswatch_polls_total", feed="https://a.example/rss") == 0
    assert a.registry is not b.registry
    assert {m.name for m in REGISTRY.collect()} == before  # nothing in the global registry


def test_label_values_are_escaped_and_no_created_series_are_exported() -> None:
    m = Metrics()
    m.polls.labels(feed='https://b.example/"q"\\n').inc(2)
    m.delivery_latency.observe(0.8)
    text = generate_latest(m.registry).decode()
    assert 'newswatch_polls_total{feed="https://b.example/\\"q\\"\\\\n"} 2.0' in text
    assert "_created" not in text


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    m = Metrics()
    for v in (0.05, 0.5, 0.7, 3.0):
        m.delivery_latency.observe(v)
    assert m.value("newswatch_delivery_latency_seconds_count") == 4
    assert m.value("newswatch_delivery_latency_seconds_sum") == pytest.approx(4.25)
    assert m.value("newswatch_delivery_latency_seconds_bucket", le="0.1") == 1
    assert m.value("newswatch_delivery_latency_seconds_bucket", le="1.0") == 3
    assert m.value("newswatch_delivery_latency_seconds_bucket", le="+Inf") == 4


def test_start_time_is_set_when_the_metrics_are_built() -> None:
    before = time.time()
    m = Metrics()
    assert before <= m.value("newswatch_start_time_seconds") <= time.time()


class _FakeTime:
    """A monotonic clock that a fake sleep moves: the loop "wakes" ``late_by`` seconds late."""

    def __init__(self, late_by: list[float]) -> None:
        self.now = 100.0
        self._late_by = late_by

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self._late_by.pop(0)


def _lag_count(m: Metrics) -> float:
    return m.value("newswatch_event_loop_lag_seconds_count")


async def test_loop_lag_monitor_records_how_late_the_timer_fired() -> None:
    m = Metrics()
    fake = _FakeTime([0.0, 0.25])
    monitor = LoopLagMonitor(m, interval_s=1.0, now=fake.time, sleep=fake.sleep)
    assert await monitor.measure_once() == 0.0
    assert await monitor.measure_once() == pytest.approx(0.25)
    assert m.value("newswatch_event_loop_lag_seconds_count") == 2
    assert m.value("newswatch_event_loop_lag_last_seconds") == pytest.approx(0.25)


async def test_loop_lag_monitor_sees_a_blocked_loop() -> None:
    m = Metrics()
    monitor = LoopLagMonitor(m, interval_s=0.01)
    task = asyncio.create_task(monitor.measure_once())
    await asyncio.sleep(0)  # let the monitor start its timer
    time.sleep(0.2)  # noqa: ASYNC251 - blocks the loop on purpose, like a synchronous parse
    lag = await task
    assert lag >= 0.15  # a lower bound only: blocking guarantees at least this much lag


async def test_loop_lag_monitor_start_and_stop() -> None:
    m = Metrics()
    monitor = LoopLagMonitor(m, interval_s=0.001)
    monitor.start()
    monitor.start()  # idempotent
    for _ in range(1000):
        if _lag_count(m) >= 2:
            break
        await asyncio.sleep(0.001)
    await monitor.stop()
    seen = _lag_count(m)
    assert seen >= 2
    await asyncio.sleep(0.01)
    assert _lag_count(m) == seen
