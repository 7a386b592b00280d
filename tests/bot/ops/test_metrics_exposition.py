"""What ``/metrics`` exports: every metric family with its type, help text and label names.

Read through the real endpoint (``HealthServer``), so the test holds whatever renders the text.
The expected table was captured from the output before the move to ``prometheus_client``; a
metric added, renamed or relabelled must show up here on purpose.
"""

from __future__ import annotations

import re

import aiohttp

from bot.ops.http_health import HealthServer
from bot.ops.metrics import Metrics

_HELP_RE = re.compile(r"^# HELP (?P<name>\S+) (?P<help>.*)$")
_TYPE_RE = re.compile(r"^# TYPE (?P<name>\S+) (?P<type>\S+)$")
_SAMPLE_RE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$"
)
_LABEL_RE = re.compile(r'([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"')

# family -> (type, help, {sample name: label names})
Families = dict[str, tuple[str, str, dict[str, tuple[str, ...]]]]

EXPECTED: Families = {
    "newswatch_polls_total": (
        "counter",
        "Feed polls attempted.",
        {"newswatch_polls_total": ("feed",)},
    ),
    "newswatch_errors_total": (
        "counter",
        "Errors by kind.",
        {"newswatch_errors_total": ("kind",)},
    ),
    "newswatch_items_seen_total": (
        "counter",
        "Feed items parsed from polled feeds.",
        {"newswatch_items_seen_total": ("feed",)},
    ),
    "newswatch_matches_total": (
        "counter",
        "New rule matches stored, by rule.",
        {"newswatch_matches_total": ("rule",)},
    ),
    "newswatch_alerts_sent_total": (
        "counter",
        "Alerts accepted by Telegram (or printed offline).",
        {"newswatch_alerts_sent_total": ()},
    ),
    "newswatch_delivery_latency_seconds": (
        "histogram",
        "Time from a delivery being queued to Telegram accepting it.",
        {
            "newswatch_delivery_latency_seconds_bucket": ("le",),
            "newswatch_delivery_latency_seconds_count": (),
            "newswatch_delivery_latency_seconds_sum": (),
        },
    ),
    "newswatch_outbox_depth": (
        "gauge",
        "Deliveries waiting in the outbox (pending or retrying).",
        {"newswatch_outbox_depth": ()},
    ),
    "newswatch_telegram_rate_limited_total": (
        "counter",
        "Telegram 429 Too Many Requests answers (RetryAfter).",
        {"newswatch_telegram_rate_limited_total": ()},
    ),
    "newswatch_telegram_updates_total": (
        "counter",
        "Updates POSTed to the webhook, by outcome (accepted, repeated, refused, failed).",
        {"newswatch_telegram_updates_total": ("outcome",)},
    ),
    "newswatch_event_loop_lag_seconds": (
        "histogram",
        "How late a periodic timer fired: time the event loop was blocked.",
        {
            "newswatch_event_loop_lag_seconds_bucket": ("le",),
            "newswatch_event_loop_lag_seconds_count": (),
            "newswatch_event_loop_lag_seconds_sum": (),
        },
    ),
    "newswatch_event_loop_lag_last_seconds": (
        "gauge",
        "The most recent event-loop lag measurement.",
        {"newswatch_event_loop_lag_last_seconds": ()},
    ),
    "newswatch_start_time_seconds": (
        "gauge",
        "Unix time at which the process started.",
        {"newswatch_start_time_seconds": ()},
    ),
}

LATENCY_LE = ("0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "300", "1800", "3600")
LOOP_LAG_LE = ("0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "5")


def families(text: str) -> Families:
    """Group an exposition's lines into families; fails on a sample outside its family."""
    found: Families = {}
    helps: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if m := _HELP_RE.match(line):
            helps[m["name"]] = m["help"]
        elif m := _TYPE_RE.match(line):
            current = m["name"]
            assert current not in found, f"family {current} twice"
            found[current] = (m["type"], helps.get(current, ""), {})
        elif line.strip():
            m = _SAMPLE_RE.match(line)
            assert m is not None, f"not a sample line: {line!r}"
            assert current is not None, line
            assert m["name"].startswith(current), line
            labels = tuple(_LABEL_RE.findall(m["labels"] or ""))
            samples = found[current][2]
            assert samples.setdefault(m["name"], labels) == labels, line
    return found


def bucket_bounds(text: str, family: str) -> tuple[float, ...]:
    bounds = re.findall(rf'^{family}_bucket\{{le="([^"]+)"\}} ', text, re.MULTILINE)
    return tuple(float(b) for b in bounds)


async def _scrape(m: Metrics) -> tuple[str, str]:
    server = HealthServer("127.0.0.1:0", m)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.bound_port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as r:
            assert r.status == 200
            return r.headers["Content-Type"], await r.text()
    finally:
        await server.stop()


def _record_one_of_each(m: Metrics) -> None:
    m.polls.labels(feed="https://vnexpress.net/rss").inc()
    m.errors.labels(kind="fetch").inc()
    m.items_seen.labels(feed="https://vnexpress.net/rss").inc(12)
    m.matches.labels(rule="east-sea").inc()
    m.alerts_sent.inc()
    m.delivery_latency.observe(0.8)
    m.outbox_depth.set(3)
    m.telegram_429.inc()
    m.telegram_updates.labels(outcome="accepted").inc()
    m.loop_lag.observe(0.002)
    m.loop_lag_last.set(0.002)


async def test_metrics_exports_the_same_families_types_help_and_labels() -> None:
    m = Metrics()
    _record_one_of_each(m)
    content_type, text = await _scrape(m)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert families(text) == EXPECTED
    assert bucket_bounds(text, "newswatch_delivery_latency_seconds") == (
        *(float(b) for b in LATENCY_LE),
        float("inf"),
    )
    assert bucket_bounds(text, "newswatch_event_loop_lag_seconds") == (
        *(float(b) for b in LOOP_LAG_LE),
        float("inf"),
    )


async def test_labelled_families_are_listed_before_their_first_event() -> None:
    _content_type, text = await _scrape(Metrics())
    assert list(families(text)) == list(EXPECTED)
    assert "\nnewswatch_alerts_sent_total 0" in text
    assert "newswatch_polls_total{" not in text


async def test_each_metrics_object_counts_on_its_own() -> None:
    a, b = Metrics(), Metrics()
    a.polls.labels(feed="https://a.example/rss").inc()
    _ct, text_b = await _scrape(b)
    _ct, text_a = await _scrape(a)
    assert 'newswatch_polls_total{feed="https://a.example/rss"} 1.0' in text_a
    assert "https://a.example/rss" not in text_b
