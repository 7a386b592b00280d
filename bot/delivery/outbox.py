"""The outbox sender: drains queued deliveries from storage into an ``AlertSink``.

Every queued message passes here: alerts and their edits (rendered now, from the article and
its matches), and digests, admin notices and trend alerts (rendered when they were queued;
their pages, and a trend's chart, are on the row). Exactly-once as far as Telegram allows: a
delivery is marked "sending" before the request and "sent" only after the sink reports
acceptance. A crash between the two leaves it "sending"; the next start resends it (at most one
duplicate per crash, by policy: a lost alert is worse than a repeated one). What an outcome
means is ``bot.delivery.outcomes``' one policy.

Each chat (and each forum topic of a chat) is a **lane** with its own clock: a task that sends
that lane's due deliveries in order, while the sender starts lanes for other chats without
waiting for it. The sink paces every send to Telegram's limits (``bot.delivery.pacing``: the
bot's 30 a second shared by all lanes, each chat's own 1 a second or 20 a minute), and each lane
has at most one send waiting in the pacer, so the bot's budget is shared out among the chats
that have something due and a group's backlog of thousands never holds up a private chat's
alerts. Batches are fair too: at most ``per_lane`` rows of one lane per query. When many alerts
pile up for one chat at once (more than five within a minute, ``FoldPolicy``), they are folded
into one digest message instead of a flood. Does not format single alerts or decide who gets
what.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

import bot.i18n as i18n
from bot.delivery.folding import FoldPolicy, format_digest, items_from_deliveries, should_fold
from bot.delivery.outcomes import apply_to_chat, retry_delay_s
from bot.delivery.sink import AlertSink, ChartSink, SendOutcome, SendStatus
from bot.services import Services
from core.errors import StorageError
from core.models import Delivery, DeliveryKind, Hit, RuleInfo, RuleMatch

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
        batch: int = 1000,
        per_lane: int = 20,
        idle_poll_s: float = 1.0,
        fold_policy: FoldPolicy | None = DEFAULT_FOLD_POLICY,
        on_progress: Callable[[str], None] | None = None,
        on_idle: Callable[[str], None] | None = None,
    ) -> None:
        self._services = services
        self._metrics = services.metrics
        self._sink = sink
        self._batch = batch
        self._per_lane = per_lane
        # (chat, topic) -> the task sending that lane's rows; at most one per lane, so a row is
        # never handed to two senders of this process.
        self._lanes: dict[tuple[int, int | None], asyncio.Task[None]] = {}
        self._lane_ended = asyncio.Event()
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
        """Start lanes for due deliveries until ``request_stop``; then let the lanes finish
        their send in flight (a lane waiting for the pacer waits on: the caller bounds this and
        cancels, as ``App.stop`` does). Cancelling it cancels the lanes."""
        try:
            while not self._stopping:
                # Cleared before the query, so a wake-up during it is not lost.
                self._wake.clear()
                self._lane_ended.clear()
                try:
                    await self._dispatch()
                except StorageError as e:
                    # The database is away (restarting?): keep the sender alive, look again.
                    log.warning("outbox: cannot read due deliveries: %s", e)
                wake = asyncio.ensure_future(self._wake.wait())
                ended = asyncio.ensure_future(self._lane_ended.wait())
                try:
                    await asyncio.wait(
                        {wake, ended},
                        timeout=self._idle_poll_s,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    wake.cancel()
                    ended.cancel()
            await asyncio.gather(*self._lanes.values(), return_exceptions=True)
        finally:
            # Cancelled (the app's send grace is over): a lane cut off mid-send leaves its row
            # "sending", resent by the next start.
            lanes = list(self._lanes.values())
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    async def drain_once(self) -> int:
        """Send the deliveries due now (one batch) and wait until every lane is done, those
        ``run()`` started included; returns how many rows this call handed out."""
        started = await self._dispatch()
        await asyncio.gather(*self._lanes.values(), return_exceptions=True)
        return started

    async def _dispatch(self) -> int:
        """Start a lane for every (chat, topic) with due rows and no lane running; returns how
        many rows were handed to new lanes."""
        now = self._services.clock.now()
        storage = self._services.storage
        due = await storage.due_deliveries(now, limit=self._batch, per_lane=self._per_lane)
        due = self._with_hits(due)
        if not due and not self._lanes:
            self._on_idle(SENDING)
        per_lane: dict[tuple[int, int | None], list[Delivery]] = defaultdict(list)
        for delivery in due:
            key = (delivery.chat_id, delivery.thread_id)
            if key not in self._lanes:
                per_lane[key].append(delivery)
        for key, items in per_lane.items():
            self._start_lane(key, items)
        # Counted after the lanes started, so that the count's round trip is not on an alert's
        # way to Telegram (the lanes run while it waits).
        self._metrics.outbox_depth.set(await storage.pending_count())
        return sum(len(items) for items in per_lane.values())

    def _start_lane(self, key: tuple[int, int | None], items: list[Delivery]) -> None:
        task = asyncio.create_task(self._send_lane(items), name=f"outbox lane {key}")
        self._lanes[key] = task

        def ended(_task: asyncio.Task[None]) -> None:
            if self._lanes.get(key) is _task:
                del self._lanes[key]
            self._lane_ended.set()
            if not _task.cancelled() and _task.exception() is not None:
                log.error("outbox lane crashed: %r", _task.exception(), extra={"chat": key[0]})

        task.add_done_callback(ended)

    def _with_hits(self, due: list[Delivery]) -> list[Delivery]:
        """The alerts among ``due`` with the hits of every rule they name: a match stored
        without hits (its rule had no subscriber when it matched, so the pipeline did not
        locate them) gets them now from the rules in force, as matching would have given."""
        ruleset = self._services.rules.current
        out: list[Delivery] = []
        # one article alerted to many chats (a story, a popular rule) is explained once
        explained: dict[tuple[str, tuple[str, ...]], dict[str, tuple[Hit, ...]]] = {}
        for delivery in due:
            article = delivery.article
            missing = tuple(m.rule_id for m in delivery.matches if not m.hits)
            if article is not None and missing:
                key = (article.identity, missing)
                found = explained.get(key)
                if found is None:
                    found = explained[key] = ruleset.hits_for(article, missing)
                if found:
                    matches = tuple(
                        m if m.hits else RuleMatch(m.rule_id, found.get(m.rule_id, ()))
                        for m in delivery.matches
                    )
                    delivery = replace(delivery, matches=matches)
            out.append(delivery)
        return out

    def _rules_for(self, deliveries: Sequence[Delivery]) -> list[RuleInfo]:
        """The rules named by ``deliveries`` (a rule removed since is shown by its id)."""
        ruleset = self._services.rules.current
        ids = dict.fromkeys(m.rule_id for d in deliveries for m in d.matches)
        return [ruleset.get(rule_id) or RuleInfo(id=rule_id, name=rule_id) for rule_id in ids]

    async def _send_lane(self, group: list[Delivery]) -> None:
        """One lane's due deliveries (one chat, one topic), in order; a flood becomes one
        digest. Stops at the first that is not sent (the chat is gone or throttled: later)."""
        thread_id = group[0].thread_id
        # Only new alerts fold: an edit must edit its own message, and digests and notices
        # are already one message each.
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
        if not await self._services.storage.mark_sending(delivery.id, self._services.clock.now()):
            log.info("delivery %d is another sender's now; skipped", delivery.id)
            return True
        try:
            if delivery.kind is DeliveryKind.TREND:
                outcome = await self._send_trend(delivery)
            elif delivery.pages:  # a digest or a notice, rendered when it was queued
                outcome = await self._sink.send_digest(
                    delivery.chat_id, delivery.pages, delivery.thread_id
                )
            else:
                outcome = await self._sink.deliver(delivery, self._rules_for([delivery]))
        except Exception as e:
            outcome = self._sink_crashed(delivery.chat_id, e)
        return await self._record([delivery], outcome)

    async def _send_trend(self, delivery: Delivery) -> SendOutcome:
        """A trend alert: its chart with its caption; the caption alone to a sink that shows
        no pictures (the console without ``send_chart``, or a row whose chart is missing)."""
        if delivery.image is not None and isinstance(self._sink, ChartSink):
            caption = delivery.pages[0]
            return await self._sink.send_chart(
                delivery.chat_id, delivery.image, caption, delivery.thread_id
            )
        return await self._sink.send_digest(delivery.chat_id, delivery.pages, delivery.thread_id)

    async def _send_folded(self, deliveries: list[Delivery], thread_id: int | None) -> bool:
        """Fold many alerts for one chat into one digest message (paged if long)."""
        storage, clock = self._services.storage, self._services.clock
        chat_id = deliveries[0].chat_id
        deliveries = [d for d in deliveries if await storage.mark_sending(d.id, clock.now())]
        if not deliveries:  # all of them are another sender's now
            return True
        rules = {r.id: r for r in self._rules_for(deliveries)}
        prefs = self._services.chat_prefs
        language = prefs.get(chat_id).language  # the chat's /settings, as for its alerts
        pages = format_digest(
            items_from_deliveries(deliveries),
            rules,
            prefs.tz(chat_id, self._services.settings.tz),
            heading=i18n.text(language, "digest.heading_folded", count=len(deliveries)),
            language=language,
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
                if not await storage.mark_sent(delivery.id, outcome.message_id, now):
                    self._taken_over(delivery)
                    continue
                self._metrics.alerts_sent.inc()
                if delivery.created_at is not None:
                    latency_s = (now - delivery.created_at).total_seconds()
                    self._metrics.delivery_latency.observe(latency_s)
            return True
        error = outcome.error or outcome.status.value
        if outcome.status is SendStatus.FAILED:
            log.error("alert dropped: %s", error, extra={"chat": chat_id})
            for delivery in deliveries:
                if not await storage.mark_failed(delivery.id, error, now):
                    self._taken_over(delivery)
            return True
        await apply_to_chat(storage, chat_id, outcome, now, self._services.chat_prefs)
        if outcome.retry_after_s is not None and outcome.new_chat_id is None:
            self._metrics.telegram_429.inc()
        for delivery in deliveries:
            delay = retry_delay_s(outcome, delivery.attempts + 1)
            if not await storage.mark_retry(
                delivery.id, error, now + timedelta(seconds=delay), now
            ):
                self._taken_over(delivery)
        return False

    def _taken_over(self, delivery: Delivery) -> None:
        # Compare-and-set refused: the row is no longer ours in flight (taken over after a
        # lease, or finished). Leave it as it is: never move a sent alert back.
        log.warning(
            "delivery %d changed hands during its send; its state is left as it is",
            delivery.id,
            extra={"chat": delivery.chat_id},
        )
