"""The outbox sender: drains queued deliveries from storage into an ``AlertSink``.

Exactly-once as far as Telegram allows: a delivery is marked "sending" before the request and
"sent" only after the sink reports acceptance. A crash between the two leaves it "sending"; the
next start resends it (at most one duplicate per crash, by policy: a lost alert is worse than a
repeated one). Chats are served concurrently, each chat's deliveries in order; the sink paces
itself to the platform's limits. When many alerts pile up for one chat at once (more than
five within a minute, ``FoldPolicy``), they are folded into one digest message instead of a
flood. Does not format single alerts or decide who gets what.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta

from bot.delivery.folding import FoldPolicy, format_digest, items_from_deliveries, should_fold
from bot.delivery.outcomes import apply_to_chat, retry_delay_s
from bot.delivery.sink import AlertSink, SendOutcome, SendStatus
from bot.services import Services
from core.models import Delivery, DeliveryKind, RuleInfo

log = logging.getLogger(__name__)

DEFAULT_FOLD_POLICY = FoldPolicy()  # more than 5 alerts for one chat within a minute
SENDING = "sending"  # the watchdog's name for this activity


class OutboxSender:
    """Sends due deliveries. ``wake()`` after queuing; ``run()`` until cancelled.

    ``on_progress("sending")`` is called for every recorded outcome and ``on_idle("sending")``
    when nothing is due (the progress watchdog)."""

    def __init__(
        self,
        services: Services,
        sink: AlertSink,
        *,
        batch: int = 200,
        chat_concurrency: int = 30,
        idle_poll_s: float = 1.0,
        fold_policy: FoldPolicy | None = DEFAULT_FOLD_POLICY,
        on_progress: Callable[[str], None] | None = None,
        on_idle: Callable[[str], None] | None = None,
    ) -> None:
        self._services = services
        self._metrics = services.metrics
        self._sink = sink
        self._batch = batch
        self._chat_limit = asyncio.Semaphore(chat_concurrency)
        self._idle_poll_s = idle_poll_s
        self._fold_policy = fold_policy
        self._wake = asyncio.Event()
        self._stopping = False
        # The watchdog: a recorded outcome is progress; nothing due is idle.
        self._on_progress = on_progress or (lambda _name: None)
        self._on_idle = on_idle or (lambda _name: None)

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        """Finish the send in flight, start no other, and let ``run()`` return."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            sent = await self.drain_once()
            if sent:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_poll_s)

    async def drain_once(self) -> int:
        """Send one batch of due deliveries; returns how many were attempted."""
        now = self._services.clock.now()
        storage = self._services.storage
        due = await storage.due_deliveries(now, limit=self._batch)
        self._metrics.outbox_depth.set(await storage.pending_count())
        if not due:
            self._on_idle(SENDING)
            return 0
        per_chat: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in due:
            per_chat[delivery.chat_id].append(delivery)
        await asyncio.gather(*(self._send_chat(items) for items in per_chat.values()))
        return len(due)

    def _rules_for(self, deliveries: Sequence[Delivery]) -> list[RuleInfo]:
        """The rules named by ``deliveries`` (a rule removed since is shown by its id)."""
        ruleset = self._services.rules.current
        ids = dict.fromkeys(m.rule_id for d in deliveries for m in d.matches)
        return [ruleset.get(rule_id) or RuleInfo(id=rule_id, name=rule_id) for rule_id in ids]

    async def _send_chat(self, deliveries: list[Delivery]) -> None:
        """One chat's due deliveries, topic by topic, in order; a flood becomes one digest."""
        async with self._chat_limit:
            by_topic: dict[int | None, list[Delivery]] = defaultdict(list)
            for delivery in deliveries:
                by_topic[delivery.thread_id].append(delivery)
            for thread_id, group in by_topic.items():
                # Only new alerts fold: an edit must edit its own message, and digests and
                # notices are already one message each.
                fresh = [d for d in group if d.kind is DeliveryKind.ALERT]
                if self._fold_policy is not None and should_fold(fresh, self._fold_policy):
                    if not await self._send_folded(fresh, thread_id):
                        return
                    folded = {d.id for d in fresh}
                    group = [d for d in group if d.id not in folded]
                for delivery in group:
                    if self._stopping or not await self._send_one(delivery):
                        return  # stopping, or the chat is gone or throttled: later

    async def _send_one(self, delivery: Delivery) -> bool:
        """Send one delivery and record the outcome. False: stop sending to this chat for now."""
        await self._services.storage.mark_sending(delivery.id, self._services.clock.now())
        try:
            if delivery.pages:  # a digest or a notice, rendered when it was queued
                outcome = await self._sink.send_digest(
                    delivery.chat_id, delivery.pages, delivery.thread_id
                )
            else:
                outcome = await self._sink.deliver(delivery, self._rules_for([delivery]))
        except Exception as e:
            outcome = self._sink_crashed(delivery.chat_id, e)
        return await self._record([delivery], outcome)

    async def _send_folded(self, deliveries: list[Delivery], thread_id: int | None) -> bool:
        """Fold many alerts for one chat into one digest message (paged if long)."""
        storage, clock = self._services.storage, self._services.clock
        chat_id = deliveries[0].chat_id
        for delivery in deliveries:
            await storage.mark_sending(delivery.id, clock.now())
        rules = {r.id: r for r in self._rules_for(deliveries)}
        pages = format_digest(
            items_from_deliveries(deliveries),
            rules,
            self._services.settings.tz,
            heading=f"📰 {len(deliveries)} new matches at once, folded into one message",
        )
        log.info("folding %d alerts into a digest", len(deliveries), extra={"chat": chat_id})
        try:
            outcome = await self._sink.send_digest(chat_id, pages, thread_id)
        except Exception as e:
            outcome = self._sink_crashed(chat_id, e)
        # The digest's message is not an alert of one article: nothing to edit later.
        if outcome.status is SendStatus.SENT:
            outcome = SendOutcome(SendStatus.SENT)
        return await self._record(deliveries, outcome)

    def _sink_crashed(self, chat_id: int, error: Exception) -> SendOutcome:
        # A sink bug must not kill the sender; treat it as temporary and keep the alert.
        log.error("alert sink failed: %r", error, exc_info=error, extra={"chat": chat_id})
        self._metrics.errors.labels(kind="internal").inc()
        return SendOutcome(SendStatus.RETRY, error=f"internal error: {error}")

    async def _record(self, deliveries: Sequence[Delivery], outcome: SendOutcome) -> bool:
        """Store what happened to ``deliveries`` (one chat's). False: pause this chat."""
        storage = self._services.storage
        now = self._services.clock.now()
        chat_id = deliveries[0].chat_id
        self._on_progress(SENDING)
        if outcome.status is SendStatus.SENT:
            for delivery in deliveries:
                await storage.mark_sent(delivery.id, outcome.message_id, now)
                self._metrics.alerts_sent.inc()
                if delivery.created_at is not None:
                    latency_s = (now - delivery.created_at).total_seconds()
                    self._metrics.delivery_latency.observe(latency_s)
            return True
        error = outcome.error or outcome.status.value
        if outcome.status is SendStatus.FAILED:
            log.error("alert dropped: %s", error, extra={"chat": chat_id})
            for delivery in deliveries:
                await storage.mark_failed(delivery.id, error, now)
            return True
        await apply_to_chat(storage, chat_id, outcome)
        if outcome.retry_after_s is not None and outcome.new_chat_id is None:
            self._metrics.telegram_429.inc()
        for delivery in deliveries:
            delay = retry_delay_s(outcome, delivery.attempts + 1)
            await storage.mark_retry(delivery.id, error, now + timedelta(seconds=delay), now)
        return False
