"""The outbox sender: drains queued deliveries from storage into an ``AlertSink``.

Exactly-once as far as Telegram allows: a delivery is marked "sending" before the request and
"sent" only after the sink reports acceptance. A crash between the two leaves it "sending"; the
next start resends it (at most one duplicate per crash, by policy: a lost alert is worse than a
repeated one). Chats are served concurrently, each chat's deliveries in order; the sink paces
itself to the platform's limits. Does not format messages or decide who gets what.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta

from core.models import Delivery, RuleInfo

from .metrics import metrics
from .services import AlertSink, SendStatus, Services

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # with the backoff below, about 3 days of retrying before giving up
_BACKOFF_CAP_S = 6 * 3600.0


def retry_delay_s(attempts: int) -> float:
    """Exponential backoff for network-type failures: 5 s, 10 s, 20 s ... capped at 6 h."""
    return float(min(_BACKOFF_CAP_S, 5.0 * 2 ** max(0, attempts - 1)))


class OutboxSender:
    """Sends due deliveries. ``wake()`` after queuing; ``run()`` until cancelled."""

    def __init__(
        self,
        services: Services,
        sink: AlertSink,
        *,
        batch: int = 200,
        chat_concurrency: int = 30,
        idle_poll_s: float = 1.0,
    ) -> None:
        self._services = services
        self._sink = sink
        self._batch = batch
        self._chat_limit = asyncio.Semaphore(chat_concurrency)
        self._idle_poll_s = idle_poll_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
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
        metrics.outbox_depth.set(await storage.pending_count())
        if not due:
            return 0
        per_chat: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in due:
            per_chat[delivery.chat_id].append(delivery)
        await asyncio.gather(*(self._send_chat(items) for items in per_chat.values()))
        return len(due)

    def _rules_for(self, delivery: Delivery) -> list[RuleInfo]:
        ruleset = self._services.rules.current
        return [
            ruleset.get(m.rule_id) or RuleInfo(id=m.rule_id, name=m.rule_id)
            for m in delivery.matches
        ]

    async def _send_chat(self, deliveries: list[Delivery]) -> None:
        async with self._chat_limit:
            for delivery in deliveries:
                if not await self._send_one(delivery):
                    break  # the chat is gone or throttled: leave the rest for later

    async def _send_one(self, delivery: Delivery) -> bool:
        """Send one delivery and record the outcome. False: stop sending to this chat for now."""
        storage, clock = self._services.storage, self._services.clock
        await storage.mark_sending(delivery.id, clock.now())
        try:
            outcome = await self._sink.deliver(delivery, self._rules_for(delivery))
        except Exception as e:
            # A sink bug must not kill the sender; treat as temporary and keep the alert.
            log.exception("alert sink failed", extra={"chat": delivery.chat_id})
            delay = retry_delay_s(delivery.attempts + 1)
            await storage.mark_retry(
                delivery.id,
                f"internal error: {e}",
                clock.now() + timedelta(seconds=delay),
                clock.now(),
            )
            return False
        now = clock.now()
        if outcome.status is SendStatus.SENT:
            await storage.mark_sent(delivery.id, outcome.message_id, now)
            metrics.alerts_sent.inc()
            if delivery.created_at is not None:
                metrics.delivery_latency.observe((now - delivery.created_at).total_seconds())
            return True
        error = outcome.error or outcome.status.value
        if outcome.status is SendStatus.FAILED or delivery.attempts + 1 >= MAX_ATTEMPTS:
            log.error("alert dropped: %s", error, extra={"chat": delivery.chat_id})
            await storage.mark_failed(delivery.id, error, now)
            return True
        if outcome.status is SendStatus.CHAT_GONE:
            log.warning(
                "chat unreachable, pausing its alerts: %s", error, extra={"chat": delivery.chat_id}
            )
            await storage.set_chat_active(delivery.chat_id, False)
            await storage.mark_retry(delivery.id, error, now, now)
            return False
        if outcome.new_chat_id is not None:
            log.info("chat migrated to %s", outcome.new_chat_id, extra={"chat": delivery.chat_id})
            await storage.migrate_chat(delivery.chat_id, outcome.new_chat_id)
            await storage.mark_retry(delivery.id, error, now, now)
            return False
        if outcome.retry_after_s is not None:
            metrics.telegram_429.inc()
        delay = (
            outcome.retry_after_s
            if outcome.retry_after_s is not None
            else retry_delay_s(delivery.attempts + 1)
        )
        await storage.mark_retry(delivery.id, error, now + timedelta(seconds=delay), now)
        return False
