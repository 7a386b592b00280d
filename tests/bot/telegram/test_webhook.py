"""Webhook mode in one process: the route (through aiohttp's test client, on SQLite and a real
PostgreSQL), the inbox's once-only semantics, and a whole ``App`` on SQLite that the fake Bot
API delivers updates to by POST (what SQLite users get). Several replicas behind a proxy, as
real processes: ``tests/test_webhook_replicas.py``."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config.settings import load_settings
from bot.ops.metrics import Metrics
from bot.runtime.app import App
from bot.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH, Outcome, WebhookReceiver
from core.errors import ConfigError
from storage.sql import SqlStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cret_-value"
USER = 5150


def _update(update_id: int, text: str = "/help") -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1764590400,
            "chat": {"id": USER, "type": "private", "first_name": "U"},
            "from": {"id": USER, "is_bot": False, "first_name": "U"},
            "text": text,
        },
    }


@pytest.fixture
async def inbox(database_url: str) -> AsyncIterator[SqlStorage]:
    store = SqlStorage(database_url)
    await store.open()
    yield store
    await store.close()


async def _client(receiver: WebhookReceiver) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    receiver.mount(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_route_stores_an_update_once_and_refuses_a_forged_secret(inbox: SqlStorage) -> None:
    woken: list[int] = []
    metrics = Metrics()
    receiver = WebhookReceiver(
        inbox, SECRET, now=lambda: NOW, on_accepted=lambda: woken.append(1), metrics=metrics
    )
    client = await _client(receiver)
    try:
        good = {SECRET_HEADER: SECRET}
        response = await client.post(WEBHOOK_PATH, json=_update(7), headers=good)
        assert response.status == 200
        again = await client.post(WEBHOOK_PATH, json=_update(7), headers=good)
        assert again.status == 200  # Telegram must stop retrying it
        for headers in ({SECRET_HEADER: "wrong"}, {}, {SECRET_HEADER: SECRET + "x"}):
            forged = await client.post(WEBHOOK_PATH, json=_update(8), headers=headers)
            assert forged.status == 401
        not_an_update = await client.post(WEBHOOK_PATH, data=b"{nope", headers=good)
        assert not_an_update.status == 400
        no_id = await client.post(WEBHOOK_PATH, json={"message": {}}, headers=good)
        assert no_id.status == 400
    finally:
        await client.close()
    assert woken == [1]  # the sender is woken for the new update only
    assert (receiver.accepted, receiver.repeated) == (1, 1)
    counted = {o: metrics.value("newswatch_telegram_updates_total", outcome=o) for o in Outcome}
    assert counted == {"accepted": 1, "repeated": 1, "refused": 3, "failed": 2}
    taken = await inbox.take_updates(NOW)
    assert [t.update_id for t in taken] == [7]  # the forged update 8 was never stored
    assert json.loads(taken[0].payload) == _update(7)
    assert await inbox.take_updates(NOW) == []  # taken once, never again
    # a delivery repeated after the update was answered is still recognised
    assert not await inbox.accept_update(7, json.dumps(_update(7)), NOW)


async def test_inbox_gives_updates_in_order_and_prunes_taken_ones(inbox: SqlStorage) -> None:
    for update_id in (12, 10, 11):
        assert await inbox.accept_update(update_id, json.dumps(_update(update_id)), NOW)
    first = await inbox.take_updates(NOW, limit=2)
    assert [t.update_id for t in first] == [10, 11]
    assert await inbox.prune_updates(NOW + timedelta(days=2)) == 2  # 12 waits: kept
    assert [t.update_id for t in await inbox.take_updates(NOW)] == [12]


@pytest.mark.postgres
async def test_concurrent_takers_never_get_the_same_update(postgres_url: str) -> None:
    stores = [SqlStorage(postgres_url) for _ in range(3)]
    for store in stores:
        await store.open()
    try:
        for update_id in range(1, 301):
            await stores[0].accept_update(update_id, json.dumps(_update(update_id)), NOW)

        async def drain(store: SqlStorage) -> list[int]:
            got: list[int] = []
            while batch := await store.take_updates(NOW, limit=7):
                got += [t.update_id for t in batch]
            return got

        results = await asyncio.gather(*(drain(s) for s in stores))
    finally:
        for store in stores:
            await store.close()
    taken = [u for r in results for u in r]
    assert sorted(taken) == list(range(1, 301))  # each exactly once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until_quiet(tg: FakeTelegramServer, seconds: float = 1.0) -> None:
    """Give a wrongly repeated answer the time to show up (the assertions are on counts)."""
    await asyncio.sleep(seconds)


async def test_sqlite_app_in_webhook_mode_answers_each_update_once(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    port = _free_port()
    async with FakeTelegramServer() as tg:
        settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'nw.db'}",
                "NEWSWATCH_CONFIG_DIR": str(config),
                "NEWSWATCH_CACHE_DIR": "",
                "NEWSWATCH_HEALTH_ADDR": f"127.0.0.1:{port}",
                "NEWSWATCH_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            },
            env_file=None,
        )
        app = App(settings, out=io.StringIO())
        await app.start()
        try:
            (call,) = tg.calls_of("setWebhook")
            assert call.params["url"] == settings.telegram_webhook_url
            assert call.params["secret_token"] == settings.telegram_webhook_secret
            hook = tg.webhooks[tg.token]
            tg.user_sends("/help", USER)
            await tg.wait_for_messages(1, chat_id=USER, timeout=20)
            (update_id,) = hook.delivered
            assert hook.statuses(update_id) == [200]
            assert await hook.redeliver(update_id) == 200  # Telegram retried: a repeat
            forged = {**hook.delivered[update_id], "update_id": update_id + 100}
            assert await hook.post(forged, secret="forged") == 401
            tg.user_sends("/help", USER + 1)  # after the repeat and the forgery
            await tg.wait_for_messages(1, chat_id=USER + 1, timeout=20)
            await _until_quiet(tg)
            assert len(tg.messages(USER)) == 1  # the repeat was not answered again
            assert tg.calls_of("getUpdates") == []  # no long polling in webhook mode
        finally:
            await app.stop()


async def test_refusals_are_logged_once_per_period_with_their_count(
    inbox: SqlStorage, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [1000.0]
    receiver = WebhookReceiver(inbox, SECRET, now=lambda: NOW, monotonic=lambda: clock[0])
    client = await _client(receiver)
    try:
        with caplog.at_level("WARNING", logger="bot.telegram.webhook"):
            for _ in range(3):
                assert (await client.post(WEBHOOK_PATH, json=_update(1))).status == 401
            clock[0] += 601
            assert (await client.post(WEBHOOK_PATH, json=_update(1))).status == 401
    finally:
        await client.close()
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2
    assert refusals[0].startswith("webhook: refused 1 request(s)")
    assert refusals[1].startswith("webhook: refused 3 request(s)")  # the 2 held back, and this
    assert SECRET not in " ".join(refusals)


async def test_an_update_the_database_cannot_take_is_answered_503_for_telegram_to_retry(
    tmp_path: Path,
) -> None:
    closed = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'never-opened.db'}")
    receiver = WebhookReceiver(closed, SECRET, now=lambda: NOW)
    client = await _client(receiver)
    try:
        response = await client.post(WEBHOOK_PATH, json=_update(3), headers={SECRET_HEADER: SECRET})
    finally:
        await client.close()
    assert response.status == 503
    assert receiver.accepted == 0


async def test_a_webhook_telegram_refuses_stops_the_start_with_the_setting_named(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    async with FakeTelegramServer() as tg:
        settings = replace(
            load_settings(
                {
                    "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                    "TELEGRAM_API_BASE_URL": tg.base_url,
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'nw.db'}",
                    "NEWSWATCH_CONFIG_DIR": str(config),
                    "NEWSWATCH_CACHE_DIR": "",
                    "NEWSWATCH_HEALTH_ADDR": f"127.0.0.1:{_free_port()}",
                },
                env_file=None,
            ),
            # past the settings' own check, as an address Telegram would refuse
            telegram_webhook_url="http://bot.example.org/telegram/webhook",
        )
        app = App(settings, out=io.StringIO())
        with pytest.raises(ConfigError, match="NEWSWATCH_TELEGRAM_WEBHOOK_URL: Telegram refused"):
            await app.start()
