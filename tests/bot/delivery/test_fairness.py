"""Each chat on its own clock: a group's backlog of alerts does not hold up a private chat.

The real OutboxSender over SQLite, the real python-telegram-bot (paced by our SendPacer) and the
fake Bot API enforcing Telegram's limits (30 a second for the bot, 1 a second per private chat,
20 a minute per group). The group's backlog is queued first, so an outbox served in id order
(as before #12) would send the private chat's alerts only after the group's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.delivery.outbox import OutboxSender
from bot.delivery.pacing import SendPacer
from bot.delivery.telegram_sink import TelegramSink
from bot.services import RuleHolder, Services
from bot.telegram.rate_limiter import paced_bot
from core.clock import SystemClock
from core.models import Chat, ChatType
from rules import RuleSet
from storage.sql import SqlStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer
from tests.support.storage_helpers import make_article, match

pytestmark = pytest.mark.timeout(120)

GROUP = -100777
PRIVATE = 4242
BACKLOG = 200
QUIET = 5


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    store = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await store.open()
    yield store
    await store.close()


async def test_a_private_chat_goes_at_its_own_pace_beside_a_group_backlog(
    storage: SqlStorage,
) -> None:
    clock = SystemClock()
    await storage.upsert_chat(Chat(id=GROUP, type=ChatType.SUPERGROUP, title="Desk"))
    await storage.subscribe(GROUP, "grp")
    await storage.upsert_chat(Chat(id=PRIVATE, type=ChatType.PRIVATE))
    await storage.subscribe(PRIVATE, "quiet")
    now = clock.now()
    await storage.ingest_many([(make_article(i), [match("grp")]) for i in range(BACKLOG)], now)
    await storage.ingest_many(
        [(make_article(10_000 + i), [match("quiet")]) for i in range(QUIET)], clock.now()
    )
    async with FakeTelegramServer() as tg:
        tg.add_chat(PRIVATE)
        tg.add_chat(GROUP, "supergroup", title="Desk")
        async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=SendPacer()) as bot:
            services = Services(
                Settings(), FeedsConfig(300, ()), storage, RuleHolder(RuleSet.empty()), clock
            )
            # A backlog that built up over hours does not fold (only a burst within a minute
            # does): the group is paced message by message, 20 a minute.
            sender = OutboxSender(services, TelegramSink(bot), fold_policy=None)
            started = time.monotonic()
            run = asyncio.create_task(sender.run())
            try:
                await tg.wait_for_messages(QUIET, chat_id=PRIVATE, timeout=30)
                quiet_done = time.monotonic() - started
            finally:
                # As App.stop does: a short grace, then cancel (the group's lane is waiting
                # out its window in the pacer).
                sender.request_stop()
                await asyncio.wait([run], timeout=3)
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
            group_messages = len(tg.messages(GROUP))
            rejected = tg.too_many_requests
    # 5 alerts at 1 a second: about 4 s after the first; the group's backlog (200 alerts at 20
    # a minute) would have taken ten minutes to get out of the way.
    assert quiet_done < 8, quiet_done
    assert group_messages == 20  # the group was served meanwhile, at its own pace
    assert rejected == 0
    print(f"\nquiet chat: {QUIET} alerts in {quiet_done:.1f} s beside a group backlog of {BACKLOG}")
