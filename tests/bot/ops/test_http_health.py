from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot

from bot.ops import health_probe
from bot.ops.http_health import (
    PROMETHEUS_CONTENT_TYPE,
    HealthServer,
    cached_check,
    flag_check,
    parse_host_port,
    readiness_checks,
    storage_check,
    telegram_check,
)
from bot.ops.metrics import Metrics
from core.errors import ConfigError, StorageError
from core.models import FeedState
from tests.bot.ops.conftest import BAD_TOKEN, GOOD_TOKEN
from tests.fakes.telegram_api import FakeTelegramServer


class _Storage:
    """Answers ``list_feeds`` like a database that is up, or raises like one that is down."""

    def __init__(self) -> None:
        self.down = False

    async def list_feeds(self) -> list[FeedState]:
        if self.down:
            raise StorageError("database unreachable: connection refused")
        return []


@pytest.fixture
async def server() -> AsyncIterator[HealthServer]:
    s = HealthServer("127.0.0.1:0", Metrics(), check_timeout_s=0.2)
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


async def _get(server: HealthServer, path: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.bound_port}{path}") as r,
    ):
        return r.status, r.headers["Content-Type"], await r.text()


async def _get_json(server: HealthServer, path: str) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.bound_port}{path}") as r,
    ):
        return r.status, await r.json()


def test_parse_host_port() -> None:
    assert parse_host_port("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_host_port("0.0.0.0:9100") == ("0.0.0.0", 9100)
    assert parse_host_port("[::1]:8080") == ("::1", 8080)
    assert parse_host_port(":8080") == ("0.0.0.0", 8080)
    with pytest.raises(ConfigError, match="NEWSWATCH_HEALTH_ADDR"):
        parse_host_port("localhost")
    with pytest.raises(ConfigError, match="NEWSWATCH_HEALTH_ADDR"):
        parse_host_port("localhost:99999")


async def test_healthz_answers_while_the_process_runs(server: HealthServer) -> None:
    assert await _get_json(server, "/healthz") == (200, {"status": "alive"})


async def test_readyz_is_200_when_every_check_passes(server: HealthServer) -> None:
    storage = _Storage()
    server.add_check("database", storage_check(storage))  # type: ignore[arg-type]
    server.add_check("scheduler", flag_check(lambda: True, "scheduler stopped"))
    status, body = await _get_json(server, "/readyz")
    assert status == 200
    assert body["status"] == "ready"
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["database"]["ok"] is True
    assert checks["database"]["detail"] == "ok (0 feeds)"
    assert checks["scheduler"]["ok"] is True


async def test_readyz_is_503_and_names_the_failing_checks(server: HealthServer) -> None:
    storage = _Storage()
    storage.down = True
    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    server.add_check("database", storage_check(storage))  # type: ignore[arg-type]
    server.add_check("scheduler", flag_check(lambda: False, "scheduler is not running"))
    server.add_check("telegram", hangs)
    status, body = await _get_json(server, "/readyz")
    assert status == 503
    assert body["status"] == "not ready"
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["database"] == {
        "ok": False,
        "detail": "StorageError: database unreachable: connection refused",
        "duration_ms": checks["database"]["duration_ms"],
    }
    assert checks["scheduler"]["detail"] == "RuntimeError: scheduler is not running"
    assert checks["telegram"]["ok"] is False
    assert checks["telegram"]["detail"] == "no answer within 0.2 s"


async def test_a_token_in_an_error_message_is_not_shown(server: HealthServer) -> None:
    async def leaks() -> None:
        raise ConnectionError(f"cannot reach https://api.telegram.org/bot{GOOD_TOKEN}/getMe")

    server.add_check("telegram", leaks)
    status, body = await _get_json(server, "/readyz")
    assert status == 503
    detail = body["checks"]["telegram"]["detail"]  # type: ignore[index]
    assert detail == "ConnectionError: cannot reach https://api.telegram.org/bot<redacted>/getMe"


async def test_a_check_returning_false_fails(server: HealthServer) -> None:
    async def says_no() -> bool:
        return False

    server.add_check("thing", says_no)
    status, body = await _get_json(server, "/readyz")
    assert status == 503
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["thing"]["ok"] is False
    assert checks["thing"]["detail"] == "failed"


async def test_metrics_endpoint_serves_prometheus_text() -> None:
    m = Metrics()
    m.polls.labels(feed="https://example.org/rss").inc()
    s = HealthServer("127.0.0.1:0", m)
    await s.start()
    try:
        status, content_type, text = await _get(s, "/metrics")
    finally:
        await s.stop()
    assert status == 200
    assert content_type == PROMETHEUS_CONTENT_TYPE
    assert 'newswatch_polls_total{feed="https://example.org/rss"} 1.0' in text


async def test_an_address_in_use_is_a_clear_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = HealthServer(f"127.0.0.1:{port}", Metrics())
        with pytest.raises(
            ConfigError, match=rf"NEWSWATCH_HEALTH_ADDR: cannot listen on 127\.0\.0\.1:{port}"
        ):
            await s.start()


async def test_an_empty_address_disables_the_server() -> None:
    s = HealthServer("", Metrics())
    assert not s.enabled
    await s.start()
    assert s.bound_port is None
    await s.stop()


async def test_cached_check_reuses_success_but_never_failure() -> None:
    now = [0.0]
    answers = [True, False, True]
    calls = 0

    async def flaky() -> bool:
        nonlocal calls
        calls += 1
        return answers[calls - 1]

    check = cached_check(flaky, ttl_s=10, now=lambda: now[0])
    assert await check() is True
    now[0] = 5
    assert await check() is True  # cached
    assert calls == 1
    now[0] = 11
    assert await check() is False  # asked again, failure not cached
    assert await check() is True
    assert calls == 3


async def test_telegram_check_asks_getme_through_python_telegram_bot(
    telegram: FakeTelegramServer,
) -> None:
    async with Bot(GOOD_TOKEN, base_url=telegram.base_url) as bot:
        check = telegram_check(bot, ttl_s=60)
        assert await check() == "ok (@newswatch_ops_bot)"
        await check()
    # one getMe from Bot.initialize, one from the first check; the second check was cached
    assert len(telegram.calls_of("getMe")) == 2


async def test_telegram_check_fails_on_a_rejected_token(telegram: FakeTelegramServer) -> None:
    bot = Bot(BAD_TOKEN, base_url=telegram.base_url)
    s = HealthServer("127.0.0.1:0", Metrics(), {"telegram": telegram_check(bot)})
    await s.start()
    try:
        status, body = await _get_json(s, "/readyz")
    finally:
        await s.stop()
        await bot.shutdown()
    assert status == 503
    detail = body["checks"]["telegram"]["detail"]  # type: ignore[index]
    assert detail.startswith("InvalidToken")
    assert BAD_TOKEN not in detail


def test_probe_url_reaches_a_wildcard_bind_through_loopback() -> None:
    assert health_probe.probe_url("0.0.0.0:8080") == "http://127.0.0.1:8080/healthz"
    assert health_probe.probe_url(":8080") == "http://127.0.0.1:8080/healthz"
    assert health_probe.probe_url("[::1]:9000", "/readyz") == "http://[::1]:9000/readyz"
    assert health_probe.probe_url("10.1.2.3:81") == "http://10.1.2.3:81/healthz"


async def test_probe_exit_code_follows_the_endpoint(
    server: HealthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWATCH_HEALTH_ADDR", f"127.0.0.1:{server.bound_port}")
    server.add_check("scheduler", flag_check(lambda: False, "stopped"))
    # The probe is synchronous (urllib): run it off the loop that serves the endpoint.
    assert await asyncio.to_thread(health_probe.main, []) == 0
    assert await asyncio.to_thread(health_probe.main, ["/readyz"]) == 1
    await server.stop()
    assert await asyncio.to_thread(health_probe.main, []) == 1


async def test_readiness_checks_cover_database_scheduler_and_telegram(
    telegram: FakeTelegramServer,
) -> None:
    storage = _Storage()
    running = [True]
    async with Bot(GOOD_TOKEN, base_url=telegram.base_url) as bot:
        checks = readiness_checks(storage, lambda: running[0], bot)  # type: ignore[arg-type]
        s = HealthServer("127.0.0.1:0", Metrics(), checks)
        await s.start()
        try:
            ready, results = await s.readiness()
            assert ready
            assert [r.name for r in results] == ["database", "scheduler", "telegram"]
            running[0] = False
            ready, results = await s.readiness()
            assert not ready
            assert [r.name for r in results if not r.ok] == ["scheduler"]
        finally:
            await s.stop()
    assert list(readiness_checks(storage, lambda: True, None)) == ["database", "scheduler"]  # type: ignore[arg-type]
