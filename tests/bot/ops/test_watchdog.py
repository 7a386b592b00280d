"""The progress watchdog: healthy while work gets done or nothing is due, stalled otherwise,
and /healthz and /readyz say so with the reason."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bot.ops.http_health import HealthServer
from bot.ops.metrics import Metrics
from bot.ops.watchdog import ProgressWatchdog


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_progress_or_idle_keeps_an_activity_healthy() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(60, clock=clock)
    dog.watch("polling")
    dog.watch("sending")
    clock.t += 50
    dog.progress("polling")
    dog.idle("sending")
    clock.t += 50
    assert dog.reasons() == []
    clock.t += 20
    assert dog.reasons() == [
        "polling: no progress for 70 s while work was due",
        "sending: no progress for 70 s while work was due",
    ]


def test_a_stall_is_logged_once_and_so_is_the_recovery(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(10, clock=clock)
    dog.watch("polling")
    clock.t += 11
    with caplog.at_level(logging.INFO, logger="bot.ops.watchdog"):
        dog.evaluate()
        dog.evaluate()
        dog.progress("polling")
        dog.evaluate()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "watchdog: polling: no progress for 11 s while work was due",
        "watchdog: polling is making progress again",
    ]
    assert caplog.records[0].levelno == logging.ERROR


async def test_healthz_and_readyz_fail_with_the_reason_while_stalled() -> None:
    clock = FakeClock()
    dog = ProgressWatchdog(30, clock=clock)
    dog.watch("sending")
    server = HealthServer("127.0.0.1:0", Metrics())
    server.add_check("progress", dog.check(), liveness=True)
    await server.start()
    base = f"http://127.0.0.1:{server.bound_port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/healthz") as resp:
                assert (resp.status, await resp.json()) == (200, {"status": "alive"})
            clock.t += 31
            async with http.get(base + "/healthz") as resp:
                assert resp.status == 503
                body = await resp.json()
            assert body == {
                "status": "stalled",
                "failed": {
                    "progress": "RuntimeError: sending: no progress for 31 s while work was due"
                },
            }
            async with http.get(base + "/readyz") as resp:
                assert resp.status == 503
                ready = await resp.json()
            assert "sending: no progress" in ready["checks"]["progress"]["detail"]
    finally:
        await server.stop()
