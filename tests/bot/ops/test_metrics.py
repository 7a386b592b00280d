from __future__ import annotations

import asyncio
import re
import time

import pytest

from bot.ops.metrics import Counter, Gauge, Histogram, LoopLagMonitor, Metrics, Registry


def test_counter_counts_per_label_set_and_renders_prometheus_text() -> None:
    r = Registry()
    polls = r.counter("newswatch_polls_total", "Feed polls.", ("feed",))
    polls.inc(feed="https://a.example/rss")
    polls.inc(feed="https://a.example/rss")
    polls.inc(2, feed='https://b.example/"q"')
    assert polls.value(feed="https://a.example/rss") == 2
    assert polls.value(feed="https://never.example/") == 0
    assert r.render().splitlines() == [
        "# HELP newswatch_polls_total Feed polls.",
        "# TYPE newswatch_polls_total counter",
        'newswatch_polls_total{feed="https://a.example/rss"} 2',
        'newswatch_polls_total{feed="https://b.example/\\"q\\""} 2',
    ]


def test_unlabelled_metrics_show_zero_before_first_event() -> None:
    r = Registry()
    r.counter("x_total", "X.")
    r.gauge("depth", "Depth.")
    text = r.render()
    assert "\nx_total 0\n" in text
    assert "\ndepth 0\n" in text


def test_counter_refuses_to_go_down_and_wrong_labels() -> None:
    c = Counter("c_total", "C.", ("kind",))
    with pytest.raises(ValueError, match="cannot go down"):
        c.inc(-1, kind="fetch")
    with pytest.raises(ValueError, match=r"expected labels \(kind\), got \(feed\)"):
        c.inc(feed="x")
    with pytest.raises(ValueError, match="invalid metric name"):
        Counter("bad name", "B.")
    with pytest.raises(ValueError, match="invalid label name"):
        Counter("ok_total", "B.", ("le",))


def test_gauge_goes_up_and_down() -> None:
    g = Gauge("newswatch_outbox_depth", "Depth.")
    g.set(5)
    g.dec()
    g.inc(0.5)
    assert g.value() == 4.5
    assert "newswatch_outbox_depth 4.5" in g.render()


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    h = Histogram("lat_seconds", "Latency.", buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 0.7, 3.0):
        h.observe(v)
    assert h.count() == 4
    assert h.sum() == pytest.approx(4.25)
    lines = h.render()
    assert 'lat_seconds_bucket{le="0.1"} 1' in lines
    assert 'lat_seconds_bucket{le="1"} 3' in lines
    assert 'lat_seconds_bucket{le="+Inf"} 4' in lines
    assert "lat_seconds_sum 4.25" in lines
    assert "lat_seconds_count 4" in lines


def test_registry_refuses_duplicate_names() -> None:
    r = Registry()
    r.counter("a_total", "A.")
    with pytest.raises(ValueError, match="already registered"):
        r.counter("a_total", "A again.")


def test_every_application_metric_renders_in_valid_exposition_format() -> None:
    m = Metrics()
    m.polls.inc(feed="https://vnexpress.net/rss")
    m.errors.inc(kind="fetch")
    m.items_seen.inc(12, feed="https://vnexpress.net/rss")
    m.matches.inc(rule="east-sea")
    m.alerts_sent.inc()
    m.delivery_latency.observe(0.8)
    m.outbox_depth.set(3)
    m.telegram_429.inc()
    m.loop_lag.observe(0.002)
    text = m.registry.render()
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]\w*="([^"\\]|\\.)*",?)*\})? \S+$')
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line), line
    for name in (
        "newswatch_polls_total",
        "newswatch_errors_total",
        "newswatch_items_seen_total",
        "newswatch_matches_total",
        "newswatch_alerts_sent_total",
        "newswatch_delivery_latency_seconds",
        "newswatch_outbox_depth",
        "newswatch_telegram_rate_limited_total",
        "newswatch_event_loop_lag_seconds",
    ):
        assert f"# TYPE {name} " in text
    assert 'newswatch_matches_total{rule="east-sea"} 1' in text


class _FakeTime:
    """A monotonic clock that a fake sleep moves: the loop "wakes" ``late_by`` seconds late."""

    def __init__(self, late_by: list[float]) -> None:
        self.now = 100.0
        self._late_by = late_by

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self._late_by.pop(0)


async def test_loop_lag_monitor_records_how_late_the_timer_fired() -> None:
    m = Metrics()
    fake = _FakeTime([0.0, 0.25])
    monitor = LoopLagMonitor(m, interval_s=1.0, now=fake.time, sleep=fake.sleep)
    assert await monitor.measure_once() == 0.0
    assert await monitor.measure_once() == pytest.approx(0.25)
    assert m.loop_lag.count() == 2
    assert m.loop_lag_last.value() == pytest.approx(0.25)


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
        if m.loop_lag.count() >= 2:
            break
        await asyncio.sleep(0.001)
    await monitor.stop()
    seen = m.loop_lag.count()
    assert seen >= 2
    await asyncio.sleep(0.01)
    assert m.loop_lag.count() == seen
