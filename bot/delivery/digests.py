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

A due digest is not sent from here: it is queued in the outbox as one ``DIGEST`` row holding its
rendered pages, in the same transaction that marks its period done (``Storage.queue_digest``),
and the outbox sender sends it like any alert — recorded as "sending" before the request, paced,
and with the one outcome policy (``bot.delivery.outcomes``). So:

- The digest for a period ending at ``T`` is queued once ``T + settle_s`` has passed, so matches
  stamped just before ``T`` whose transaction commits a moment later are not skipped.
- A temporary failure (429, network error, timeout) retries the queued digest with the outbox's
  backoff; a crash between the send and the mark resends it once (the outbox's policy).
- A gone chat (blocked, kicked) is paused and its queued digest waits for it; while it is away no
  further digest is queued, so the first digest after its return covers the time it was away
  (at most ``max_items`` stories, newest).
- A migrated group: its subscriptions and its queued digest follow it.
- Refused for good: the row fails and is logged; the period was already marked, so one bad
  message cannot block a chat's digests forever.
- Muted chats: a digest that falls due while the chat is muted is not queued and its period is
  marked done, like instant alerts, which are not queued while muted (``/recent`` lists them).
- Digest days (``/settings``): a period that ends on a day that is not one of the chat's digest
  days is neither queued nor marked, so the next digest day's digest covers it too.
- Rules that no longer exist in the rule files: their matches made before the rule was removed
  still arrive, listed under the rule's id; a removed rule makes no new matches, so after that
  its subscription yields nothing.
- The digest's own words (heading, "updated", dates) are in the chat's language (``/settings``),
  rendered when it is queued.
- Articles the chat already got an instant alert for (the subscription was instant before, or
  another instant rule of the chat matched them) are left out (``Storage.due_digest_items``).

Does not send, format single alerts or decide who subscribes to what.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import bot.i18n as i18n
from bot.delivery.folding import format_digest, items_from_matches, next_digest_at
from bot.delivery.rule_mutes import catch_up_expired
from bot.i18n.forms import counted
from bot.services import Services
from core.models import Language, RenderedMessage, RuleInfo
from storage.base import StoredMatch, Subscription

log = logging.getLogger(__name__)

DIGEST_RUN_EVERY_S = 30.0  # how often the app should call ``run_once``
DIGEST_SETTLE_S = 60.0  # how long after a period ends its digest waits for late commits
DIGEST_MAX_ITEMS = 200  # stories per digest (newest kept); about seven Telegram messages


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
    """Queues every scheduled digest that is due, for the outbox to send. Call ``run_once()``
    every half minute or so; ``on_queued`` (the sender's ``wake``) is called when it queued any.

    Runs of one scheduler never overlap (a lock). Times come from ``services.clock``, the local
    time zone from the chat's /settings (``services.chat_prefs``), else ``services.settings.tz``.
    """

    def __init__(
        self,
        services: Services,
        *,
        on_queued: Callable[[], None] = lambda: None,
        settle_s: float = DIGEST_SETTLE_S,
        max_items: int = DIGEST_MAX_ITEMS,
    ) -> None:
        self._services = services
        self._on_queued = on_queued
        self._settle = timedelta(seconds=settle_s)
        self._max_items = max_items
        self._run_lock = asyncio.Lock()
        self._bad_schedules: set[str] = set()

    async def run_once(self) -> int:
        """Queue every digest that is due, and the catch-up of every one-rule mute that ran out;
        returns how many were queued.

        A failure in one chat (a storage error) is logged and does not stop the others; that
        chat's digest is tried again on the next run (nothing was marked for it)."""
        async with self._run_lock:
            now = self._services.clock.now()
            subs = await self._services.storage.digest_subscriptions()
            queued = 0
            for group in _groups(subs):
                try:
                    queued += await self._run_group(group, now)
                except Exception:
                    log.exception(
                        "digest failed; retrying on the next run", extra={"chat": group.chat_id}
                    )
            try:
                # One rule's mute that ran out (1 h, 1 day) sends its catch-up (#16).
                queued += await catch_up_expired(self._services)
            except Exception:
                log.exception("rule-mute catch-up failed; retrying on the next run")
            if queued:
                self._on_queued()
            return queued

    async def _run_group(self, group: _Group, now: datetime) -> int:
        """Queue the group's digest if due: 1 when one was queued, else 0."""
        # The chat's own time zone (/settings), else NEWSWATCH_TIMEZONE.
        tz = self._services.chat_prefs.tz(group.chat_id, self._services.settings.tz)
        try:
            period_end = last_period_end(group.schedule, now - self._settle, tz)
        except ValueError:
            if group.schedule not in self._bad_schedules:
                self._bad_schedules.add(group.schedule)
                log.error("unknown digest schedule %r: skipped", group.schedule)
            return 0
        if period_end is None:
            return 0
        days = self._services.chat_prefs.get(group.chat_id).digest_days
        if days is not None and period_end.astimezone(tz).weekday() not in days:
            # Not a digest day of this chat (/settings): nothing is marked, so the next
            # digest day's digest covers these periods too.
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
        # Stories (issue #13): one line per story, naming every outlet that reported it.
        story_of = await self._services.storage.stories_of_articles(
            [m.article_id for m in matches if m.article_id is not None]
        )
        language = self._services.chat_prefs.get(group.chat_id).language
        pages = self._format(group.schedule, matches, tz, story_of, language)
        if not pages:
            # nothing matched, or the chat is muted: nothing to send, the period is done
            await storage.mark_digest_sent(group.chat_id, rule_ids, period_end)
            return 0
        await storage.queue_digest(group.chat_id, group.thread_id, rule_ids, period_end, pages, now)
        log.info("digest queued: %d page(s)", len(pages), extra={"chat": group.chat_id})
        return 1

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
        self,
        schedule: str,
        matches: Sequence[StoredMatch],
        tz: ZoneInfo,
        story_of: Mapping[int, int] | None = None,
        language: Language | None = None,
    ) -> list[RenderedMessage]:
        """The digest's pages, in the chat's ``language`` (rendered now: the row keeps them)."""
        items = items_from_matches(matches, story_of)
        if not items:
            return []
        kind = i18n.text(
            language, "digest.heading_hourly" if schedule == "hourly" else "digest.heading_daily"
        )
        total = len(items)
        if total > self._max_items:
            items = items[-self._max_items :]
            heading = i18n.text(
                language,
                "digest.heading_scheduled_latest",
                kind=kind,
                shown=len(items),
                total=total,
            )
        else:
            heading = counted(language, "digest.heading_scheduled", total, kind=kind)
        current = self._services.rules.current
        rules: dict[str, RuleInfo] = {}
        for item in items:
            for rule_id in item.rule_ids:
                rules[rule_id] = current.get(rule_id) or RuleInfo(id=rule_id, name=rule_id)
        return format_digest(items, rules, tz, heading=heading, language=language)


def _groups(subs: Sequence[Subscription]) -> list[_Group]:
    grouped: dict[tuple[int, int | None, str], list[Subscription]] = defaultdict(list)
    for sub in subs:
        if sub.digest_schedule:
            grouped[(sub.chat_id, sub.thread_id, sub.digest_schedule)].append(sub)
    return [
        _Group(chat_id, thread_id, schedule, tuple(members))
        for (chat_id, thread_id, schedule), members in grouped.items()
    ]
