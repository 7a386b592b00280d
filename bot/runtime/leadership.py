"""Which replica is the sender: the part of ``App`` that follows the election.

On PostgreSQL several replicas poll feeds together (feed leases), and one of them — the holder
of the sender's advisory lock (``storage.sql.leadership``) — sends: the outbox sender, the one
long-polling consumer of Telegram updates (in webhook mode: the one that answers the updates
every replica accepts, ``bot.telegram.webhook``), and the digest, catch-up, feed-health and
prune jobs. Every ``LEADER_CHECK_S`` the sender checks its lock's session is alive and a standby
tries to take the lock; a change starts or stops those parts here. Why one elected sender
rather than a budget shared in the database: Telegram's limits are per bot, and the pacer that
keeps them (1 a second per private chat, 20 a minute per group, 30 a second overall, with
Telegram's own 429 holds) is exact only where every send passes through it; one sender keeps
it exact with no per-message database round trip, and Telegram allows one ``getUpdates``
consumer per token anyway. The cost is that sending is not spread across replicas (it is
bounded by Telegram's limits, not by one process's CPU). SQLite: the one process always leads.

Contains no business logic; ``App`` provides the attributes declared below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.delivery.outbox import OutboxSender
    from bot.delivery.sink import AlertSink, DeferredSink
    from bot.ops.watchdog import ProgressWatchdog
    from bot.services import Services
    from bot.telegram.runtime import TelegramRuntime
    from bot.telegram.webhook import UpdateConsumer
    from storage.updates import UpdateInbox

from bot.ops.http_health import ReadinessCheck, telegram_check

log = logging.getLogger(__name__)

LEADER_CHECK_S = 5.0  # how often a replica checks (or tries to take) the sender's role
SEND_GRACE_S = 3.0  # for an alert in flight to be accepted and marked sent


class SenderRole:
    """Promotion to and demotion from the sender's role (a mixin of ``App``)."""

    leading: bool
    services: Services | None
    sender: OutboxSender | None
    watchdog: ProgressWatchdog
    _sink: AlertSink | None
    _deferred: DeferredSink | None
    _telegram: TelegramRuntime | None
    _outbox_task: asyncio.Task[None] | None
    updates: UpdateConsumer | None  # webhook mode (``bot.runtime.webhook_wiring``)
    _inbox: UpdateInbox | None

    def _telegram_ready_check(self) -> ReadinessCheck:
        """Telegram answers getMe; fails while the sender has not connected yet (a standby
        replica does not poll Telegram and passes)."""
        inner: ReadinessCheck | None = None

        async def check() -> object:
            nonlocal inner
            telegram = self._telegram
            if not self.leading:
                return "ok (standby: another replica is the sender)"
            if telegram is None or not telegram.started:
                raise RuntimeError("not connected to Telegram yet (retrying)")
            if inner is None:
                inner = telegram_check(telegram.application.bot)
            return await inner()

        return check

    async def _listen_for_deliveries(self) -> None:
        """The sender hears at once when any replica queued deliveries, or (webhook mode)
        accepted a Telegram update (LISTEN/NOTIFY)."""
        if self.services is None:
            return
        try:
            await self.services.storage.listen_for_deliveries(self._wake_sender)
            if self._inbox is not None and self.updates is not None:
                await self._inbox.listen_for_updates(self.updates.wake)
        except Exception as e:  # only a latency aid: the sender looks every second anyway
            log.warning("could not LISTEN for queued deliveries or updates: %r", e)

    def _wake_sender(self) -> None:
        raise NotImplementedError

    def _new_sender(self, sink: AlertSink) -> OutboxSender:
        raise NotImplementedError

    def _spawn(
        self, work: Awaitable[None] | Callable[[], Awaitable[None]], name: str
    ) -> asyncio.Task[None]:
        raise NotImplementedError

    async def _connect_telegram_later(
        self, deferred: DeferredSink, first_delay_s: float = 5.0
    ) -> None:
        raise NotImplementedError

    def _if_leading(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        """A job only the sender replica runs (digests, catch-up, feed health, pruning)."""

        async def run() -> object:
            return await job() if self.leading else None

        return run

    async def _keep_leadership(self) -> None:
        """PostgreSQL replicas: the sender checks it still holds the lock, the others try to
        take it; a change starts or stops the sender, Telegram polling and the leader's jobs."""
        assert self.services is not None
        storage = self.services.storage
        while True:
            await asyncio.sleep(LEADER_CHECK_S)
            if self.leading:
                if not await storage.still_leading():
                    await self._demote()
            elif await storage.try_lead():
                await self._promote()
            if not self.leading:
                self.watchdog.idle("sending")  # a standby has nothing to send: not stalled

    async def _promote(self) -> None:
        log.info("this replica is the sender now: sending alerts and polling Telegram")
        self.leading = True
        assert self._sink is not None
        self.sender = self._new_sender(self._sink)
        self.watchdog.idle("sending")
        self._outbox_task = self._spawn(self.sender.run, "outbox")
        await self._listen_for_deliveries()
        if self._telegram is not None and self._deferred is not None:
            self._spawn(self._connect_telegram_later(self._deferred, 0.0), "telegram-connect")

    async def _demote(self) -> None:
        log.warning(
            "lost the sender's lock (its database session ended); stopping sending and "
            "Telegram polling here, another replica takes over"
        )
        self.leading = False
        if self.sender is not None and self._outbox_task is not None:
            self.sender.request_stop()
            await asyncio.wait([self._outbox_task], timeout=SEND_GRACE_S)
            self._outbox_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outbox_task
            self._outbox_task = None
        if self._deferred is not None:
            self._deferred.target = None
        if self._telegram is not None:
            with contextlib.suppress(Exception):
                await self._telegram.stop()


def quiet_on_cancel(job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """A scheduled job that ends quietly when shutdown cancels it mid-run: APScheduler logs a
    cancelled job as an ERROR with a traceback, which a clean SIGTERM must not produce. What
    the job was doing is idempotent and runs again at the next start."""

    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            log.info("scheduled job stopped by shutdown")

    run.__name__ = getattr(job, "__name__", "job")
    run.__qualname__ = getattr(job, "__qualname__", "job")
    return run
