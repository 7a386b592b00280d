"""Scheduled digests end to end: real SqlStorage (SQLite and PostgreSQL), the scheduler queueing
digests in the outbox, the outbox sender sending them through the real TelegramSink and
python-telegram-bot talking to the fake Bot API server, time moved by a FakeClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.delivery.digests import DIGEST_SETTLE_S, DigestScheduler, last_period_end
from bot.delivery.outbox import OutboxSender
from bot.delivery.pacing import PaceLimits, SendPacer
from bot.delivery.telegram_sink import TelegramSink
from bot.services import RuleHolder, Services
from bot.telegram.rate_limiter import paced_bot
from core.clock import FakeClock
from core.models import Chat, ChatSettings, ChatType, DeliveryKind, DeliveryMode, DeliveryState
from storage import SqlStorage
from tests.bot.telegram.harness import RULES, USER, FakeRuleSet, running_bot
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits, SentMessage
from tests.support.storage_helpers import make_article, match

CHAT = 42
TZ = "Asia/Ho_Chi_Minh"  # UTC+7, no DST: "daily 08:00" is 01:00 UTC
NO_PACING = PaceLimits(global_count=10_000, private_window_s=0.0, group_count=10_000)
START = datetime(2025, 7, 11, 10, 10, tzinfo=UTC)
SETTLE = timedelta(seconds=DIGEST_SETTLE_S)


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 7, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Env:
    tg: FakeTelegramServer
    storage: SqlStorage
    clock: FakeClock
    services: Services
    scheduler: DigestScheduler
    sender: OutboxSender
    database_url: str

    async def digest(self, rule_id: str, schedule: str, chat_id: int = CHAT) -> None:
        """Subscribe the chat to ``rule_id`` and switch it to a digest, now."""
        await self.storage.upsert_chat(Chat(id=chat_id))
        await self.storage.subscribe(chat_id, rule_id)
        assert await self.storage.set_subscription_mode(
            chat_id, rule_id, DeliveryMode.DIGEST, schedule, now=self.clock.now()
        )

    async def matched(self, n: int, *rule_ids: str, at: datetime) -> None:
        result = await self.storage.ingest(make_article(n), [match(r) for r in rule_ids], at)
        assert result.new_deliveries == 0  # digest subscriptions get no instant alert

    async def run_at(self, when: datetime) -> int:
        """At ``when``: run the scheduler, then let the outbox send what is due. Returns how
        many digests the scheduler queued."""
        self.clock.set(when)
        queued = await self.scheduler.run_once()
        await drain(self.sender)
        return queued

    def sent(self, chat_id: int = CHAT) -> list[SentMessage]:
        return self.tg.messages(chat_id)

    async def sent_at(self, rule_id: str, chat_id: int = CHAT) -> datetime | None:
        subs = {s.rule_id: s for s in await self.storage.subscription_details(chat_id)}
        return subs[rule_id].digest_sent_at


def title(n: int) -> str:
    return make_article(n).title


async def drain(sender: OutboxSender) -> None:
    """Send everything due now (a few rounds at most: a send can make more due)."""
    for _ in range(10):
        if not await sender.drain_once():
            return


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    storage = SqlStorage(database_url)
    await storage.open()
    clock = FakeClock(START)
    services = Services(
        settings=Settings(telegram_bot_token=DEFAULT_TOKEN, timezone=TZ),
        feeds=FeedsConfig(default_interval_s=300.0, feeds=()),
        storage=storage,
        rules=RuleHolder(FakeRuleSet(RULES)),  # type: ignore[arg-type]
        clock=clock,
    )
    try:
        # The pacer runs on the same fake time, so a 429's hold ends when the clock says.
        pacer = SendPacer(NO_PACING, clock=lambda: clock.now().timestamp())
        async with (
            FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as tg,
            paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=pacer) as bot,
        ):
            tg.add_chat(CHAT)
            sink = TelegramSink(bot, tz=ZoneInfo(TZ))
            sender = OutboxSender(services, sink)
            scheduler = DigestScheduler(services, on_queued=sender.wake)
            yield Env(tg, storage, clock, services, scheduler, sender, database_url)
    finally:
        await storage.close()


async def test_hourly_digest_one_message_per_period_grouped_by_rule(env: Env) -> None:
    await env.digest("csp", "hourly")
    await env.digest("unclos", "hourly")
    await env.matched(1, "csp", at=utc(11, 10, 20))
    await env.matched(2, "unclos", at=utc(11, 10, 30))
    await env.matched(3, "csp", "unclos", at=utc(11, 10, 40))
    await env.matched(4, "csp", at=utc(11, 11, 0, 30))  # the next period

    assert await env.run_at(utc(11, 10, 59)) == 0
    assert await env.run_at(utc(11, 11) + SETTLE / 2) == 0  # waits for late commits
    assert env.sent() == []
    assert await env.run_at(utc(11, 11) + SETTLE) == 1
    [digest] = env.sent()
    text = digest.text
    assert text.startswith("🗞 Hourly digest: 3 new matches")
    csp_at = text.index("#csp — Comprehensive Strategic Partnership (2)")
    unclos_at = text.index("#unclos — UNCLOS / East Sea (1)")
    assert csp_at < text.index(title(1)) < text.index(title(3)) < unclos_at
    assert unclos_at < text.index(title(2))
    assert text.count(title(3)) == 1  # matched by both rules, listed once
    assert title(4) not in text
    assert not digest.disable_notification  # UNCLOS is a high-priority rule

    assert await env.run_at(utc(11, 11, 30)) == 0  # same period: nothing more
    assert await env.run_at(utc(11, 11, 59)) == 0
    assert len(env.sent()) == 1
    assert await env.sent_at("csp") == utc(11, 11)

    assert await env.run_at(utc(11, 12, 5)) == 1
    latest = env.sent()[-1].text
    assert latest.startswith("🗞 Hourly digest: 1 new match\n")
    assert title(4) in latest
    assert title(1) not in latest
    assert digest.message_id != env.sent()[-1].message_id
    assert env.sent()[-1].disable_notification  # only the normal-priority rule this time


async def test_daily_digest_at_local_time_and_nothing_when_nothing(env: Env) -> None:
    env.clock.set(utc(11, 2))  # 09:00 in Ho Chi Minh City
    await env.digest("csp", "daily 08:00")
    await env.matched(1, "csp", at=utc(11, 3))
    await env.matched(2, "csp", at=utc(11, 20))

    assert await env.run_at(utc(11, 23)) == 0  # 06:00 local: not yet
    assert await env.run_at(utc(12, 0, 59)) == 0
    assert await env.run_at(utc(12, 1) + SETTLE) == 1
    [digest] = env.sent()
    assert digest.text.startswith("🗞 Daily digest: 2 new matches")
    assert title(1) in digest.text
    assert title(2) in digest.text
    assert await env.run_at(utc(12, 12)) == 0
    # A day with no match: no message, but the period is done.
    assert await env.run_at(utc(13, 1, 5)) == 0
    assert len(env.sent()) == 1
    assert await env.sent_at("csp") == utc(13, 1)
    await env.matched(3, "csp", at=utc(13, 9))
    assert await env.run_at(utc(14, 1, 5)) == 1
    assert title(3) in env.sent()[-1].text
    assert title(1) not in env.sent()[-1].text


async def test_nothing_matched_sends_nothing_and_advances_the_period(env: Env) -> None:
    await env.digest("csp", "hourly")
    await env.matched(1, "japan", at=utc(11, 10, 30))  # a rule the chat is not subscribed to
    assert await env.run_at(utc(11, 11, 5)) == 0
    assert env.tg.calls_of("sendMessage") == []
    assert await env.sent_at("csp") == utc(11, 11)


async def test_a_bot_that_was_down_catches_up_with_one_digest(env: Env) -> None:
    await env.digest("csp", "hourly")
    await env.matched(1, "csp", at=utc(11, 10, 30))
    await env.matched(2, "csp", at=utc(11, 13, 30))
    assert await env.run_at(utc(11, 16, 5)) == 1
    assert title(1) in env.sent()[0].text
    assert title(2) in env.sent()[0].text
    assert await env.sent_at("csp") == utc(11, 16)
    assert await env.run_at(utc(11, 16, 10)) == 0


@pytest.mark.parametrize(
    ("code", "description", "parameters"),
    [
        (429, "Too Many Requests: retry after 30", {"retry_after": 30}),
        (502, "Bad Gateway", None),
    ],
    ids=["429", "network"],
)
async def test_a_failed_send_is_retried_and_the_digest_not_lost(
    env: Env, code: int, description: str, parameters: dict[str, int] | None
) -> None:
    await env.digest("csp", "hourly")
    await env.matched(1, "csp", at=utc(11, 10, 30))
    env.tg.inject_error("sendMessage", code, description, parameters)
    assert await env.run_at(utc(11, 11, 5)) == 1
    assert env.sent() == []
    # The period is done for the scheduler: its digest is owed by the outbox now.
    assert await env.sent_at("csp") == utc(11, 11)
    assert await env.storage.pending_count(CHAT) == 1
    attempts = len(env.tg.calls_of("sendMessage"))
    assert attempts == 1
    if parameters is not None:
        # Telegram said 30 s: the outbox does not ask again before that.
        assert await env.run_at(utc(11, 11, 5, 20)) == 0
        assert len(env.tg.calls_of("sendMessage")) == attempts
    assert await env.run_at(utc(11, 11, 5, 40)) == 0
    [digest] = env.sent()
    assert title(1) in digest.text
    assert await env.storage.pending_count(CHAT) == 0
    assert await env.run_at(utc(11, 11, 5, 50)) == 0
    assert len(env.sent()) == 1


async def test_the_digest_is_recorded_as_sending_before_the_request(env: Env) -> None:
    """The same guarantee as alerts: a crash during the request leaves a "sending" row that
    the next start resends, so a digest is never lost between queueing and sending."""
    await env.digest("csp", "hourly")
    await env.matched(1, "csp", at=utc(11, 10, 30))
    env.clock.set(utc(11, 11, 5))
    assert await env.scheduler.run_once() == 1
    [row] = await env.storage.due_deliveries(env.clock.now())
    assert row.kind is DeliveryKind.DIGEST
    assert row.article is None
    assert title(1) in row.pages[0].html
    await env.storage.mark_sending(row.id, env.clock.now())  # the process dies here
    restarted = SqlStorage(env.database_url)
    await restarted.open()
    try:
        [again] = await restarted.due_deliveries(env.clock.now())
        assert again.id == row.id
        assert again.state is DeliveryState.SENDING
        assert again.pages == row.pages
    finally:
        await restarted.close()


async def test_muted_chat_gets_no_digest_and_the_mute_period_is_not_sent_later(
    env: Env,
) -> None:
    await env.digest("csp", "hourly")
    await env.storage.mute_chat(CHAT, utc(11, 11, 30))
    await env.matched(1, "csp", at=utc(11, 10, 20))
    assert await env.run_at(utc(11, 11, 5)) == 0
    assert env.tg.calls_of("sendMessage") == []
    assert await env.sent_at("csp") == utc(11, 11)
    await env.matched(2, "csp", at=utc(11, 11, 40))  # after the mute ended
    assert await env.run_at(utc(11, 12, 5)) == 1
    [digest] = env.sent()
    assert title(2) in digest.text
    assert title(1) not in digest.text


async def test_blocked_chat_is_paused_and_gets_its_digest_when_back(env: Env) -> None:
    await env.digest("csp", "hourly")
    await env.matched(1, "csp", at=utc(11, 10, 20))
    env.tg.block(CHAT)
    assert await env.run_at(utc(11, 11, 5)) == 1
    chat = await env.storage.get_chat(CHAT)
    assert chat is not None
    assert not chat.active
    assert await env.storage.digest_subscriptions() == []
    assert await env.storage.pending_count(CHAT) == 1  # the digest waits for the chat
    await env.matched(2, "csp", at=utc(11, 11, 30))  # while the chat is away
    env.tg.unblock(CHAT)
    await env.storage.set_chat_active(CHAT, True)  # what my_chat_member does
    assert await env.run_at(utc(11, 12, 5)) == 1  # the time away, as its own digest
    first, second = env.sent()
    assert title(1) in first.text
    assert title(2) in second.text


async def test_digests_go_to_the_forum_topic_one_per_topic_and_schedule(env: Env) -> None:
    forum = -100777
    env.tg.add_chat(forum, "supergroup", title="Desk", is_forum=True)
    await env.storage.upsert_chat(Chat(id=forum, type=ChatType.SUPERGROUP))
    await env.storage.subscribe(forum, "csp", thread_id=5)
    await env.storage.subscribe(forum, "japan", thread_id=9)
    await env.storage.subscribe(forum, "us", thread_id=9)
    for rule_id in ("csp", "japan", "us"):
        await env.storage.set_subscription_mode(
            forum, rule_id, DeliveryMode.DIGEST, "hourly", now=env.clock.now()
        )
    await env.matched(1, "csp", "japan", at=utc(11, 10, 20))
    await env.matched(2, "us", at=utc(11, 10, 25))
    assert await env.run_at(utc(11, 11, 5)) == 2
    by_topic = {m.message_thread_id: m.text for m in env.sent(forum)}
    assert set(by_topic) == {5, 9}
    assert title(1) in by_topic[5]
    assert title(2) not in by_topic[5]
    assert "#japan" in by_topic[9]
    assert "#us" in by_topic[9]


async def test_a_rule_removed_from_the_files_still_delivers_what_it_matched(env: Env) -> None:
    await env.digest("retired", "hourly")
    await env.matched(1, "retired", at=utc(11, 10, 20))
    assert await env.run_at(utc(11, 11, 5)) == 1
    assert "#retired (1)" in env.sent()[0].text
    assert await env.run_at(utc(11, 12, 5)) == 0


async def test_instant_alerts_are_not_repeated_in_a_later_digest(env: Env) -> None:
    await env.storage.upsert_chat(Chat(id=CHAT))
    await env.storage.subscribe(CHAT, "csp")
    instant = await env.storage.ingest(make_article(1), [match("csp")], utc(11, 10, 15))
    assert instant.new_deliveries == 1
    env.clock.set(utc(11, 10, 16))
    assert await env.storage.set_subscription_mode(
        CHAT, "csp", DeliveryMode.DIGEST, "hourly", now=utc(11, 10, 10)
    )
    await env.matched(2, "csp", at=utc(11, 10, 20))
    assert await env.run_at(utc(11, 11, 5)) == 1
    alert, digest = env.sent()  # the instant alert queued before the switch, then the digest
    assert alert.text.startswith(title(1))
    assert digest.text.startswith("🗞 Hourly digest")
    assert title(2) in digest.text
    assert title(1) not in digest.text


def test_last_period_end_hourly_and_daily_in_local_time() -> None:
    tz = ZoneInfo(TZ)
    assert last_period_end("hourly", utc(11, 10, 59, 59), tz) == utc(11, 10)
    assert last_period_end("hourly", utc(11, 11), tz) == utc(11, 11)
    assert last_period_end("daily 08:00", utc(12, 0, 59), tz) == utc(11, 1)
    assert last_period_end("daily 08:00", utc(12, 1), tz) == utc(12, 1)
    with pytest.raises(ValueError, match="unknown digest schedule"):
        last_period_end("weekly", utc(12, 1), tz)


async def test_digest_command_through_the_real_application_then_the_scheduler_delivers(
    tmp_path: Path,
) -> None:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    try:
        async with running_bot(storage=storage) as rb:
            rb.clock.set(START)
            assert "Subscribed" in (await rb.ask("/subscribe csp")).text
            reply = await rb.ask("/digest csp daily 08:00")
            assert "one digest every day at 08:00" in reply.text
            [sub] = await storage.digest_subscriptions()
            assert (sub.chat_id, sub.rule_id, sub.digest_schedule) == (USER, "csp", "daily 08:00")
            assert sub.digest_sent_at == START

            result = await storage.ingest(make_article(1), [match("csp")], utc(11, 12))
            assert result.new_deliveries == 0
            sink = TelegramSink(rb.application.bot, tz=rb.services.settings.tz)
            sender = OutboxSender(rb.services, sink)
            scheduler = DigestScheduler(rb.services, on_queued=sender.wake)
            before = len(rb.tg.messages(USER))
            rb.clock.set(utc(12, 0, 30))
            assert await scheduler.run_once() == 0
            rb.clock.set(utc(12, 1, 5))  # 08:01 in Ho Chi Minh City
            assert await scheduler.run_once() == 1
            await drain(sender)
            [digest] = rb.tg.messages(USER)[before:]
            assert digest.text.startswith("🗞 Daily digest: 1 new match")
            assert title(1) in digest.text

            assert "alerts arrive as stories appear" in (await rb.ask("/digest csp off")).text
            assert await storage.digest_subscriptions() == []
            instant = await storage.ingest(make_article(2), [match("csp")], utc(12, 2))
            assert instant.new_deliveries == 1
    finally:
        await storage.close()


async def test_digest_days_hold_the_weekend_for_monday(env: Env) -> None:
    # /settings (#16): digests on weekdays only. 11 July 2025 is a Friday.
    env.services.chat_prefs.put(CHAT, ChatSettings(digest_days=(0, 1, 2, 3, 4)))
    await env.digest("csp", "daily 08:00")
    await env.matched(1, "csp", at=utc(11, 20))  # Friday evening
    await env.matched(2, "csp", at=utc(12, 12))  # Saturday
    assert await env.run_at(utc(12, 1) + SETTLE) == 0  # Saturday 08:00: not a digest day
    assert await env.run_at(utc(13, 1) + SETTLE) == 0  # Sunday
    assert env.sent() == []
    assert await env.run_at(utc(14, 1) + SETTLE) == 1  # Monday: the weekend too
    [digest] = env.sent()
    assert title(1) in digest.text
    assert title(2) in digest.text


async def test_a_chats_own_time_zone_sets_its_digest_hour(env: Env) -> None:
    env.services.chat_prefs.put(CHAT, ChatSettings(timezone="Europe/London"))  # BST, UTC+1
    await env.digest("csp", "daily 08:00")
    await env.matched(1, "csp", at=utc(11, 12))
    assert await env.run_at(utc(12, 1) + SETTLE) == 0  # 08:00 in Hanoi is 02:00 in London
    assert await env.run_at(utc(12, 7) + SETTLE) == 1  # 08:00 BST
    [digest] = env.sent()
    assert title(1) in digest.text
