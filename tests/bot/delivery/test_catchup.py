"""Chats that come back get what matched while they were away, as one bounded digest.

The real OutboxSender and python-telegram-bot against the fake Bot API: the user blocks the
bot (the next alert gets 403 and the chat is paused), stories keep matching, the user unblocks
(``my_chat_member`` marks the chat active), and the chat receives the alert that waited plus
one catch-up digest of the newest matches with a count of the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.delivery.catchup import CatchUpScheduler
from bot.delivery.outbox import OutboxSender
from bot.delivery.pacing import PaceLimits, SendPacer
from bot.delivery.telegram_sink import TelegramSink
from bot.services import RuleHolder, Services
from bot.telegram.rate_limiter import paced_bot
from core.clock import FakeClock
from core.models import Chat, ChatType, DeliveryMode
from rules import RuleSet
from storage.sql import SqlStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits
from tests.support.storage_helpers import T0, make_article, match

CHAT = 3131
NO_PACING = PaceLimits(global_count=10_000, private_window_s=0.0, group_count=10_000)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    store = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await store.open()
    yield store
    await store.close()


async def test_a_returning_chat_gets_one_bounded_catch_up_digest(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    await storage.upsert_chat(Chat(id=CHAT, type=ChatType.PRIVATE))
    await storage.subscribe(CHAT, "csp")
    await storage.subscribe(CHAT, "sea")
    await storage.set_subscription_mode(CHAT, "sea", DeliveryMode.DIGEST, "hourly", now=T0)
    services = Services(
        Settings(), FeedsConfig(300, ()), storage, RuleHolder(RuleSet.empty()), clock
    )
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as tg:
        tg.add_chat(CHAT)
        pacer = SendPacer(NO_PACING)
        async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=pacer) as bot:
            sender = OutboxSender(services, TelegramSink(bot))
            catch_up = CatchUpScheduler(services, max_items=10)
            await storage.ingest(make_article(1), [match("csp")], clock.now())
            assert await sender.drain_once() == 1
            tg.block(CHAT)
            clock.advance(60)
            await storage.ingest(make_article(2), [match("csp")], clock.now())
            await sender.drain_once()  # 403: the chat is paused, article 2's alert waits
            chat = await storage.get_chat(CHAT)
            assert chat is not None
            assert not chat.active
            for i in range(3, 15):  # 12 stories while away: stored, no alert queued
                clock.advance(60)
                await storage.ingest(make_article(i), [match("csp"), match("sea")], clock.now())
            assert await catch_up.run_once() == 0  # still away
            tg.unblock(CHAT)
            await storage.set_chat_active(CHAT, True)  # what my_chat_member does
            clock.advance(5)
            assert await catch_up.run_once() == 1
            assert await catch_up.run_once() == 0  # once
            await sender.drain_once()
            await sender.drain_once()
            texts = [m.text for m in tg.messages(CHAT)]
    assert len(texts) == 3, texts
    first, waited, digest = texts
    assert first.splitlines()[0] == make_article(1).title
    assert waited.splitlines()[0] == make_article(2).title  # queued before the block, kept
    assert "While this chat was away: the latest 10 of 12 matches (2 more: /recent)" in digest
    listed = [line for line in digest.splitlines() if line.startswith("• ")]
    # the newest ten of the twelve made while away; nothing the chat already had an alert for
    assert [line.split(" — ")[0][2:] for line in listed] == [
        make_article(i).title for i in range(5, 15)
    ]
    # the digest-mode rule is left to its own digest (which covers the time away)
    assert "#sea" not in digest
