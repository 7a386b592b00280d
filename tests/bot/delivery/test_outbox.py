"""The outbox sender over the real SqlStorage (SQLite): every outcome the sink can report is
recorded so that nothing is lost and nothing is sent twice; floods fold into one digest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.delivery.outbox import OutboxSender
from bot.delivery.sink import SendOutcome, SendStatus
from bot.services import RuleHolder, Services
from core.clock import FakeClock
from core.models import Chat, ChatType, Delivery, RenderedMessage, RuleInfo
from rules import RuleSet
from storage.sql import SqlStorage
from tests.support.storage_helpers import T0, article_of, make_article, match

CHAT = 77


@dataclass
class ScriptedSink:
    """A fake sink: answers each delivery with the next scripted outcome (default: SENT)."""

    script: list[SendOutcome | Exception] = field(default_factory=list)
    delivered: list[Delivery] = field(default_factory=list)
    digests: list[tuple[int, list[RenderedMessage], int | None]] = field(default_factory=list)

    def _next(self) -> SendOutcome:
        outcome = self.script.pop(0) if self.script else SendOutcome(SendStatus.SENT, 1)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        self.delivered.append(delivery)
        return self._next()

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        self.digests.append((chat_id, list(messages), thread_id))
        return self._next()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    store = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await store.open()
    await store.upsert_chat(Chat(id=CHAT, type=ChatType.PRIVATE))
    await store.subscribe(CHAT, "csp")
    yield store
    await store.close()


def _sender(storage: SqlStorage, sink: ScriptedSink, clock: FakeClock) -> OutboxSender:
    services = Services(
        Settings(), FeedsConfig(300, ()), storage, RuleHolder(RuleSet.empty()), clock
    )
    return OutboxSender(services, sink)


async def _queue(storage: SqlStorage, n: int, clock: FakeClock, first: int = 1) -> None:
    for i in range(first, first + n):
        await storage.ingest(make_article(i), [match("csp")], clock.now())


async def test_sent_once_and_never_again(storage: SqlStorage) -> None:
    clock, sink = FakeClock(T0), ScriptedSink()
    sender = _sender(storage, sink, clock)
    await _queue(storage, 2, clock)
    assert await sender.drain_once() == 2
    assert [article_of(d).identity for d in sink.delivered] == ["guid:item-1", "guid:item-2"]
    clock.advance(3600)
    assert await sender.drain_once() == 0
    assert await storage.pending_count() == 0


async def test_retry_after_waits_exactly_then_sends(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    sink = ScriptedSink([SendOutcome(SendStatus.RETRY, retry_after_s=30, error="429")])
    sender = _sender(storage, sink, clock)
    await _queue(storage, 1, clock)
    await sender.drain_once()
    clock.advance(29)
    assert await sender.drain_once() == 0  # not before retry_after
    clock.advance(1)
    assert await sender.drain_once() == 1
    assert len(sink.delivered) == 2
    assert await storage.pending_count() == 0


async def test_the_sender_records_in_its_services_metrics(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    sink = ScriptedSink([SendOutcome(SendStatus.RETRY, retry_after_s=30, error="429")])
    services = Services(
        Settings(), FeedsConfig(300, ()), storage, RuleHolder(RuleSet.empty()), clock
    )
    sender = OutboxSender(services, sink)
    await _queue(storage, 1, clock)
    await sender.drain_once()
    metrics = services.metrics
    assert metrics.value("newswatch_telegram_rate_limited_total") == 1
    assert metrics.value("newswatch_outbox_depth") == 1
    clock.advance(30)
    await sender.drain_once()
    assert metrics.value("newswatch_alerts_sent_total") == 1
    assert metrics.value("newswatch_delivery_latency_seconds_count") == 1
    assert metrics.value("newswatch_delivery_latency_seconds_sum") == pytest.approx(30)


async def test_a_sink_crash_keeps_the_alert_for_later(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    sink = ScriptedSink([RuntimeError("bug in the sink")])
    sender = _sender(storage, sink, clock)
    await _queue(storage, 1, clock)
    await sender.drain_once()
    assert await storage.pending_count() == 1
    clock.advance(60)
    await sender.drain_once()
    assert await storage.pending_count() == 0


async def test_blocked_chat_pauses_until_it_comes_back(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    sink = ScriptedSink([SendOutcome(SendStatus.CHAT_GONE, error="Forbidden: bot was blocked")])
    sender = _sender(storage, sink, clock)
    await _queue(storage, 2, clock)
    await sender.drain_once()
    assert len(sink.delivered) == 1  # the second was not tried against a blocked chat
    chat = await storage.get_chat(CHAT)
    assert chat is not None
    assert chat.active is False
    clock.advance(3600)
    assert await sender.drain_once() == 0
    await storage.set_chat_active(CHAT, True)  # my_chat_member: the user unblocked the bot
    assert await sender.drain_once() == 2
    assert await storage.pending_count() == 0


async def test_a_permanent_failure_is_recorded_not_retried(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    sink = ScriptedSink([SendOutcome(SendStatus.FAILED, error="Bad Request: message is too long")])
    sender = _sender(storage, sink, clock)
    await _queue(storage, 1, clock)
    await sender.drain_once()
    clock.advance(86400)
    assert await sender.drain_once() == 0
    assert len(sink.delivered) == 1


async def test_migrated_group_is_followed_to_its_new_id(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    sink = ScriptedSink([SendOutcome(SendStatus.RETRY, new_chat_id=-1009, error="migrated")])
    sender = _sender(storage, sink, clock)
    await _queue(storage, 1, clock)
    await sender.drain_once()
    await sender.drain_once()
    assert [d.chat_id for d in sink.delivered] == [CHAT, -1009]
    assert await storage.subscriptions(-1009) == ["csp"]


async def test_a_flood_is_folded_into_one_digest(storage: SqlStorage) -> None:
    clock, sink = FakeClock(T0), ScriptedSink()
    sender = _sender(storage, sink, clock)
    await _queue(storage, 8, clock)
    assert await sender.drain_once() == 8
    assert sink.delivered == []
    ((chat_id, pages, thread_id),) = sink.digests
    assert (chat_id, thread_id) == (CHAT, None)
    assert "8 new matches" in pages[0].plain
    for i in range(1, 9):
        assert f"story {i}" in "".join(p.plain for p in pages)
    assert await storage.pending_count() == 0


async def test_five_at_once_are_not_a_flood(storage: SqlStorage) -> None:
    clock, sink = FakeClock(T0), ScriptedSink()
    sender = _sender(storage, sink, clock)
    await _queue(storage, 5, clock)
    await sender.drain_once()
    assert len(sink.delivered) == 5
    assert sink.digests == []


async def test_a_failed_digest_loses_nothing(storage: SqlStorage) -> None:
    clock = FakeClock(T0)
    sink = ScriptedSink([SendOutcome(SendStatus.RETRY, error="network error")])
    sender = _sender(storage, sink, clock)
    await _queue(storage, 7, clock)
    await sender.drain_once()
    assert await storage.pending_count() == 7
    clock.advance(600)
    await sender.drain_once()
    assert len(sink.digests) == 2
    assert await storage.pending_count() == 0


async def test_a_delivery_left_sending_by_a_crash_is_resent(
    storage: SqlStorage, tmp_path: Path
) -> None:
    clock, sink = FakeClock(T0), ScriptedSink()
    await _queue(storage, 1, clock)
    (due,) = await storage.due_deliveries(clock.now())
    await storage.mark_sending(due.id, clock.now())  # ...and the process died here
    restarted = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")  # the next start
    await restarted.open()
    try:
        sender = _sender(restarted, sink, clock)
        assert await sender.drain_once() == 1
        assert [d.id for d in sink.delivered] == [due.id]
        assert await sender.drain_once() == 0
    finally:
        await restarted.close()
