"""Chats that come back: one catch-up digest of what matched while a chat was unreachable.

While a chat is away (it blocked the bot, or a group removed it) no alert is queued for it, but
its matches are stored. When it is reachable again — ``my_chat_member`` says so, or the chat
writes to the bot (either marks it active) — ``CatchUpScheduler.run_once`` finds it
(``Storage.returned_chats``) and queues, per forum topic of its instant subscriptions, one
``DIGEST`` row in the outbox: the newest ``max_items`` matches made while it was away and a count
of the rest (``/recent`` lists them). Alerts queued before it went away were kept and are sent
as they were; articles the chat already has an alert for are left out; muted subscriptions get
nothing (as for instant alerts). Digest-mode subscriptions are not covered here: their next
digest covers the time away (``bot.delivery.digests``).

Queuing and the "caught up" mark are one transaction, made only while the chat is still marked
away since the same moment (``Storage.queue_catch_up``), so two runs, or two replicas, queue it
once. The digest is in the chat's language and time zone (``/settings``). Does not send
anything: the outbox does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

import bot.i18n as i18n
from bot.delivery.folding import format_digest, items_from_matches
from bot.i18n.forms import counted
from bot.services import Services
from core.models import DeliveryMode, RenderedMessage, RuleInfo
from storage.base import StoredMatch

log = logging.getLogger(__name__)

CATCH_UP_EVERY_S = 10.0  # how often the app looks for returned chats
CATCH_UP_MAX_ITEMS = 50  # stories in a catch-up digest (the newest); the rest are counted


class CatchUpScheduler:
    """Queues the catch-up digest of every chat that came back. ``on_queued`` (the sender's
    ``wake``) is called when it queued any."""

    def __init__(
        self,
        services: Services,
        *,
        on_queued: Callable[[], None] = lambda: None,
        max_items: int = CATCH_UP_MAX_ITEMS,
    ) -> None:
        self._services = services
        self._on_queued = on_queued
        self._max_items = max_items
        self._lock = asyncio.Lock()

    async def run_once(self) -> int:
        """Catch up every returned chat; returns how many digests were queued. One chat's
        failure is logged and retried on the next run (nothing was marked for it)."""
        async with self._lock:
            queued = 0
            for chat_id, away_since in await self._services.storage.returned_chats():
                try:
                    queued += await self._catch_up(chat_id, away_since)
                except Exception:
                    log.exception("catch-up failed; retrying later", extra={"chat": chat_id})
            if queued:
                self._on_queued()
            return queued

    async def _catch_up(self, chat_id: int, away_since: datetime) -> int:
        storage, now = self._services.storage, self._services.clock.now()
        topics: dict[int | None, list[str]] = defaultdict(list)
        for sub in await storage.subscription_details(chat_id):
            muted = sub.muted_until is not None and sub.muted_until > now
            if sub.mode is DeliveryMode.INSTANT and not muted:
                topics[sub.thread_id].append(sub.rule_id)
        digests: list[tuple[int | None, Sequence[str], Sequence[RenderedMessage]]] = []
        for thread_id, rule_ids in topics.items():
            matches = await storage.due_digest_items(chat_id, sorted(rule_ids), away_since, now)
            pages = self._format(chat_id, matches)
            if pages:
                digests.append((thread_id, sorted(rule_ids), pages))
        if not await storage.queue_catch_up(chat_id, away_since, digests, now):
            return 0
        if digests:
            log.info("catch-up digest queued for a returned chat", extra={"chat": chat_id})
        return len(digests)

    def _format(self, chat_id: int, matches: Sequence[StoredMatch]) -> list[RenderedMessage]:
        """The catch-up's pages in the chat's language and time zone (``/settings``)."""
        items = items_from_matches(matches)
        if not items:
            return []
        prefs = self._services.chat_prefs
        language = prefs.get(chat_id).language
        total = len(items)
        if total > self._max_items:
            items = items[-self._max_items :]
            heading = i18n.text(
                language,
                "catchup.away_latest",
                shown=len(items),
                total=total,
                more=total - len(items),
            )
        else:
            heading = counted(language, "catchup.away", total)
        current = self._services.rules.current
        rules: dict[str, RuleInfo] = {}
        for item in items:
            for rule_id in item.rule_ids:
                rules[rule_id] = current.get(rule_id) or RuleInfo(id=rule_id, name=rule_id)
        tz = prefs.tz(chat_id, self._services.settings.tz)
        return format_digest(items, rules, tz, heading=heading, language=language)
