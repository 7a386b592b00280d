"""Scheduled digests: ``/digest RULE hourly`` or ``daily HH:MM`` sends one message per period.

``DigestScheduler.run_once()`` is meant to run every ``DIGEST_RUN_EVERY_S`` seconds. For each active
chat it groups the digest subscriptions by (forum topic, schedule); a group is due when a period of
its schedule ended since the last digest. Period ends are wall-clock times in the configured time
zone ("hourly": every full hour; "daily 08:00": 08:00 local each day), computed by
``bot.delivery.folding.next_digest_at``. A due group gets ONE digest covering, for each rule, the
matches made after that rule's last digest and up to the period end, grouped by rule
(``bot.delivery.folding.format_digest``), or nothing at all when nothing matched; either way the
period is then marked done (``Storage.mark_digest_sent``), so the next run sends nothing more until
the next period ends. A bot that was down for several periods catches up with one digest.

Delivery rules:

- The digest for a period ending at ``T`` goes out once ``T + settle_s`` has passed, so matches
  stamped just before ``T`` whose transaction commits a moment later are not skipped.
- RETRY (429, network error, timeout): nothing is marked; the next run sends the digest again
  (after ``retry_after`` when Telegram gave one). Pages already sent before the failure are sent
  again with the rest: a repeat beats a loss. The same holds for a crash between the send and
  the mark (at most one repeated digest per crash, like the outbox).
- CHAT_GONE (blocked, kicked): the chat is marked inactive and nothing is marked; when it comes
  back, its next digest covers the time it was away (at most ``max_items`` stories, newest).
- A migrated group: its subscriptions follow it (``Storage.migrate_chat``); the next run sends.
- FAILED (Telegram refused the message for good): logged, and the period is marked done, so one
  bad message cannot block a chat's digests forever.
- Muted chats: a digest that falls due while the chat is muted is not sent and its period is
  marked done, like instant alerts, which are not queued while muted (``/recent`` lists them).
- Rules that no longer exist in the rule files: their matches made before the rule was removed
  still arrive, listed under the rule's id; a removed rule makes no new matches, so after that
  its subscription yields nothing.
- Articles the chat already got an instant alert for (the subscription was instant before, or
  another instant rule of the chat matched them) are left out (``Storage.due_digest_items``).

Does not format alerts itself, pace sends (the sender does) or decide who subscribes to what.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.delivery.alert_format import AlertMessage
from bot.delivery.folding import format_digest, items_from_matches, next_digest_at
from bot.delivery.sink import SendOutcome, SendStatus
from bot.runtime.services import Services
from core.models import RuleInfo
from storage.base import StoredMatch, Subscription

log = logging.getLogger(__name__)

DIGEST_RUN_EVERY_S = 30.0  # how often the app should call ``run_once``
DIGEST_SETTLE_S = 60.0  # how long after a period ends its digest waits for late commits
DIGEST_MAX_ITEMS = 200  # stories per digest (newest kept); about seven Telegram messages


class DigestSender(Protocol):
    """Something that sends one digest (its pages, in order) to one chat or forum topic.
    ``bot.delivery.telegram_sink.TelegramSink`` is one. Does not touch storage."""

    async def send_digest(
        self, chat_id: int, messages: Sequence[AlertMessage], thread_id: int | None
    ) -> SendOutcome: ...


@dataclass(frozen=True, slots=True)
class _Group:
    """One chat's digest subscriptions that share a forum topic and a schedule."""

    chat_id: int
    thread_id: int | None
    schedule: str
    subscriptions: tuple[Subscription, ...]


def last_period_end(schedule: str, limit: datetime, tz: ZoneInfo) -> datetime | None:
    """The latest end of a ``schedule`` period at or before ``limit`` (within the last two
    periods), in UTC. ValueError for an unknown schedule."""
    lookback = timedelta(hours=2) if schedule == "hourly" else timedelta(days=2)
    end = next_digest_at(schedule, limit - lookback, tz)
    if end > limit:
        return None
    for _ in range(100):  # at most ~48 steps for "hourly" over two days; bounded anyway
        following = next_digest_at(schedule, end, tz)
        if following > limit:
            break
        end = following
    return end


class DigestScheduler:
    """Sends every scheduled digest that is due. Call ``run_once()`` every half minute or so.

    Runs of one scheduler never overlap (a lock); chats are served concurrently, each chat's
    digests in turn. Times come from ``services.clock``, the local time zone from
    ``services.settings.tz``.
    """

    def __init__(
        self,
        services: Services,
        sender: DigestSender,
        *,
        settle_s: float = DIGEST_SETTLE_S,
        max_items: int = DIGEST_MAX_ITEMS,
        chat_concurrency: int = 30,
    ) -> None:
        self._services = services
        self._sender = sender
        self._settle = timedelta(seconds=settle_s)
        self._max_items = max_items
        self._chat_limit = asyncio.Semaphore(chat_concurrency)
        self._run_lock = asyncio.Lock()
        # Chats Telegram asked us to leave alone for a while (429 retry_after), until when.
        self._not_before: dict[int, datetime] = {}
        self._bad_schedules: set[str] = set()

    async def run_once(self) -> int:
        """Send every digest that is due; returns how many messages were sent.

        A failure in one chat (storage or sender error) is logged and does not stop the
        others; that chat's digest is tried again on the next run."""
        async with self._run_lock:
            now = self._services.clock.now()
            subs = await self._services.storage.digest_subscriptions()
            per_chat: dict[int, list[_Group]] = defaultdict(list)
            for group in _groups(subs):
                per_chat[group.chat_id].append(group)
            sent = await asyncio.gather(
                *(self._run_chat(chat_id, groups, now) for chat_id, groups in per_chat.items())
            )
            return sum(sent)

    async def _run_chat(self, chat_id: int, groups: list[_Group], now: datetime) -> int:
        not_before = self._not_before.get(chat_id)
        if not_before is not None:
            if now < not_before:
                return 0
            del self._not_before[chat_id]
        sent = 0
        async with self._chat_limit:
            for group in groups:
                try:
                    result = await self._run_group(group, now)
                except Exception:
                    log.exception(
                        "digest failed; retrying on the next run", extra={"chat": chat_id}
                    )
                    return sent
                if result is None:
                    return sent  # the chat is throttled, gone or moved: leave the rest
                sent += result
        return sent

    async def _run_group(self, group: _Group, now: datetime) -> int | None:
        """Send the group's digest if due. Messages sent; None: stop serving this chat now."""
        tz = self._services.settings.tz
        try:
            period_end = last_period_end(group.schedule, now - self._settle, tz)
        except ValueError:
            if group.schedule not in self._bad_schedules:
                self._bad_schedules.add(group.schedule)
                log.error("unknown digest schedule %r: skipped", group.schedule)
            return 0
        if period_end is None:
            return 0
        due = [
            s
            for s in group.subscriptions
            if s.digest_sent_at is None or s.digest_sent_at < period_end
        ]
        if not due:
            return 0
        storage = self._services.storage
        rule_ids = [s.rule_id for s in due]
        listening = [s for s in due if s.muted_until is None or s.muted_until <= now]
        matches = await self._matches(group.chat_id, listening, period_end)
        messages = self._format(group.schedule, matches, tz)
        if not messages:
            # nothing matched, or the chat is muted: nothing to send, the period is done
            await storage.mark_digest_sent(group.chat_id, rule_ids, period_end)
            return 0
        try:
            outcome = await self._sender.send_digest(group.chat_id, messages, group.thread_id)
        except Exception as e:
            log.exception("digest sender failed", extra={"chat": group.chat_id})
            outcome = SendOutcome(SendStatus.RETRY, error=f"internal error: {e}")
        return await self._record(group, rule_ids, period_end, outcome, len(messages), now)

    async def _matches(
        self, chat_id: int, subs: Sequence[Subscription], period_end: datetime
    ) -> list[StoredMatch]:
        """The matches each subscription has not had a digest for, up to ``period_end``."""
        since = {s.rule_id: s.digest_sent_at or period_end for s in subs}
        if not since:
            return []
        found = await self._services.storage.due_digest_items(
            chat_id, sorted(since), min(since.values()), until=period_end
        )
        return [m for m in found if m.matched_at > since[m.rule_id]]

    def _format(
        self, schedule: str, matches: Sequence[StoredMatch], tz: ZoneInfo
    ) -> list[AlertMessage]:
        items = items_from_matches(matches)
        if not items:
            return []
        kind = "Hourly" if schedule == "hourly" else "Daily"
        total = len(items)
        if total > self._max_items:
            items = items[-self._max_items :]
            heading = (
                f"🗞 {kind} digest: the latest {len(items)} of {total} new matches "
                "(all of them: /recent)"
            )
        else:
            heading = f"🗞 {kind} digest: {total} new {'match' if total == 1 else 'matches'}"
        current = self._services.rules.current
        rules: dict[str, RuleInfo] = {}
        for item in items:
            for rule_id in item.rule_ids:
                rules[rule_id] = current.get(rule_id) or RuleInfo(id=rule_id, name=rule_id)
        return format_digest(items, rules, tz, heading=heading)

    async def _record(
        self,
        group: _Group,
        rule_ids: list[str],
        period_end: datetime,
        outcome: SendOutcome,
        pages: int,
        now: datetime,
    ) -> int | None:
        storage, chat_id = self._services.storage, group.chat_id
        where = {"chat": chat_id}
        if outcome.status is SendStatus.SENT:
            await storage.mark_digest_sent(chat_id, rule_ids, period_end)
            return pages
        error = outcome.error or outcome.status.value
        if outcome.status is SendStatus.FAILED:
            log.error("digest refused for good, period skipped: %s", error, extra=where)
            await storage.mark_digest_sent(chat_id, rule_ids, period_end)
            return 0
        if outcome.status is SendStatus.CHAT_GONE:
            log.warning("chat unreachable, pausing its digests: %s", error, extra=where)
            await storage.set_chat_active(chat_id, False)
            return None
        if outcome.new_chat_id is not None:
            log.info("chat migrated to %s", outcome.new_chat_id, extra=where)
            await storage.migrate_chat(chat_id, outcome.new_chat_id)
            return None
        log.warning("digest not sent, retrying on the next run: %s", error, extra=where)
        if outcome.retry_after_s is not None:
            self._not_before[chat_id] = now + timedelta(seconds=outcome.retry_after_s)
        return None


def _groups(subs: Sequence[Subscription]) -> list[_Group]:
    grouped: dict[tuple[int, int | None, str], list[Subscription]] = defaultdict(list)
    for sub in subs:
        if sub.digest_schedule:
            grouped[(sub.chat_id, sub.thread_id, sub.digest_schedule)].append(sub)
    return [
        _Group(chat_id, thread_id, schedule, tuple(members))
        for (chat_id, thread_id, schedule), members in grouped.items()
    ]
