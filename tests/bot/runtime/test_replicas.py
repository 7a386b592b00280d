"""Two replicas on one PostgreSQL: they share the polling, one of them sends and long-polls
Telegram, and when it goes the other takes over; every alert arrives exactly once.

Two real ``App``s in this process, each with its own storage (own owner id, own database
sessions), the real python-telegram-bot against the fake Bot API (which answers 409 to a second
concurrent ``getUpdates``, as Telegram does)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config.settings import load_settings
from bot.runtime.app import App
from core.models import Chat, ChatType
from storage import SqlStorage
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, ApiError, FakeTelegramServer
from tests.support.storage_helpers import make_article, match

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

USER = 6060


class CountingTelegram(FakeTelegramServer):
    """Counts the 409 Conflicts a second getUpdates consumer would cause."""

    conflicts = 0

    async def _get_updates(self, bot: Any, params: Any) -> Any:
        try:
            return await super()._get_updates(bot, params)
        except ApiError as e:
            if "Conflict" in str(e.args):
                type(self).conflicts += 1
            raise


def _rss(base: str, items: list[str]) -> str:
    entries = "".join(
        f"<item><title>{t} replicastory</title><link>{base}/a/{t}</link><guid>{t}</guid></item>"
        for t in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>'
        f"<link>{base}</link><description>d</description>{entries}</channel></rss>"
    )


async def _until(cond: Callable[[], bool], limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_one_sender_among_replicas_and_failover(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str
) -> None:
    items = ["old"]
    base = feed_server.url("")

    async def feed(_request: web.Request) -> web.Response:
        return web.Response(text=_rss(base, items), content_type="application/rss+xml")

    url = feed_server.route("/feed.xml", feed)
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "rules" / "r.yaml").write_text(
        "rules:\n  - id: rep\n    name: Replicas\n    query: replicastory\n", encoding="utf-8"
    )
    (config / "feeds.yaml").write_text(
        f'feeds:\n  - url: "{url}"\n    interval: 1s\n', encoding="utf-8"
    )
    store = SqlStorage(postgres_url)
    await store.open()
    await store.upsert_chat(Chat(id=USER, type=ChatType.PRIVATE))
    await store.subscribe(USER, "rep")
    await store.close()
    async with CountingTelegram() as tg:
        tg.add_chat(USER)
        settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_URL": postgres_url,
                "NEWSWATCH_CONFIG_DIR": str(config),
                "NEWSWATCH_TICK_INTERVAL": "0.2",
                "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
                "NEWSWATCH_HEALTH_ADDR": "",
            },
            env_file=None,
        )
        first, second = App(settings, out=io.StringIO()), App(settings, out=io.StringIO())
        await first.start()
        try:
            await _until(lambda: feed_server.hits["/feed.xml"] >= 1, 15, "the first poll")
            await second.start()
            assert first.leading
            assert not second.leading
            items.append("one")
            await tg.wait_for_messages(1, chat_id=USER, timeout=20)
            polls_before = feed_server.hits["/feed.xml"]
            await asyncio.sleep(3)
            assert len(tg.messages(USER)) == 1  # once, though two replicas poll the feed
            # two replicas, one lease per due poll: about one poll a second, not two
            assert feed_server.hits["/feed.xml"] - polls_before <= 5

            await first.stop()  # the sender goes away
            await _until(lambda: second.leading, 20, "the standby to take over")
            items.append("two")
            await tg.wait_for_messages(2, chat_id=USER, timeout=30)
            await asyncio.sleep(2)
        finally:
            await first.stop()
            await second.stop()
    texts = [m.text for m in tg.messages(USER)]
    assert len(texts) == 2, texts
    assert texts[0].startswith("one replicastory")
    assert texts[1].startswith("two replicastory")
    assert CountingTelegram.conflicts == 0


async def test_the_sender_hears_at_once_when_any_replica_queues_an_alert(
    postgres_url: str,
) -> None:
    """LISTEN/NOTIFY: a delivery queued through another storage (a standby's poll) wakes the
    sender's callback at its commit, instead of at the sender's next look at the outbox."""
    leader, standby = SqlStorage(postgres_url), SqlStorage(postgres_url)
    await leader.open()
    await standby.open()
    try:
        assert await leader.try_lead()
        woken = asyncio.Event()
        await leader.listen_for_deliveries(woken.set)
        await standby.upsert_chat(Chat(id=USER, type=ChatType.PRIVATE))
        await standby.subscribe(USER, "rep")
        started = time.monotonic()
        await standby.ingest(make_article(1), [match("rep")], datetime.now(UTC))
        await asyncio.wait_for(woken.wait(), 5)
        assert time.monotonic() - started < 1.0
    finally:
        await leader.close()
        await standby.close()
