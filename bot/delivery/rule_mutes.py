"""Muting one rule in one chat, and the catch-up after an unmute.

``mute_rule`` mutes one subscription (1 h, 1 day, or until unmuted): its matches are still
stored but not alerted in that chat. ``unmute_rule`` ends the mute and queues ONE catch-up
digest of what the rule matched meanwhile (``Storage.queue_digest``, sent by the outbox like any
digest, with the same formatter), and returns how many matches it holds so the reply can say
so. ``catch_up_expired`` does the same for the mutes that ran out by themselves (1 h, 1 day),
on the digest tick (``DigestScheduler.run_once``). The whole chat's mute (/mute) is
``Storage.mute_chat``'s. The catch-up is in the chat's language and time zone (``/settings``).
Does not reply to anyone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import bot.i18n as i18n
from bot.delivery.folding import format_digest, items_from_matches
from bot.i18n.forms import counted
from bot.services import Services
from core.models import RuleInfo

log = logging.getLogger(__name__)

MAX_CATCH_UP_ITEMS = 50


async def mute_rule(services: Services, chat_id: int, rule_id: str, seconds: float | None) -> bool:
    """Mute ``rule_id`` in the chat for ``seconds`` (None: until unmuted); False when the chat
    is not subscribed to it."""
    now = services.clock.now()
    until = now + timedelta(seconds=seconds) if seconds is not None else None
    return await services.storage.mute_rule(chat_id, rule_id, until, now)


async def unmute_rule(
    services: Services, chat_id: int, rule_id: str, thread_id: int | None = None
) -> int | None:
    """End the rule's mute in the chat and queue one catch-up digest of the matches made since
    the mute began. Returns how many matches the digest holds (0: nothing to catch up, nothing
    queued); None when the rule was not muted on its own."""
    storage = services.storage
    began = await storage.unmute_rule(chat_id, rule_id)
    if began is None:
        return None
    now = services.clock.now()
    matched = await storage.due_digest_items(chat_id, [rule_id], began, now)
    items = items_from_matches(matched)
    if not items:
        return 0
    total = len(items)
    shown = items[-MAX_CATCH_UP_ITEMS:]
    rule = services.rules.current.get(rule_id) or RuleInfo(id=rule_id, name=rule_id)
    # The rule's tag and name head its group below (escaped there): the heading holds no
    # text from users.
    language = services.chat_prefs.get(chat_id).language
    heading = counted(language, "unmute.heading_catch_up", total) + (
        i18n.text(language, "unmute.heading_catch_up_latest", shown=len(shown))
        if len(shown) < total
        else ""
    )
    tz = services.chat_prefs.tz(chat_id, services.settings.tz)
    pages = format_digest(shown, {rule_id: rule}, tz, heading=heading, language=language)
    await storage.queue_digest(chat_id, thread_id, [rule_id], now, pages, now)
    log.info("catch-up digest queued: %d matches", total, extra={"chat": chat_id, "rule": rule_id})
    return total


async def catch_up_expired(services: Services) -> int:
    """End every one-rule mute whose time is up, each with its catch-up digest (none when
    nothing matched meanwhile). Returns how many digests were queued. A mute whose
    subscription is gone is forgotten."""
    storage = services.storage
    queued = 0
    for chat_id, rule_id in await storage.expired_rule_mutes(services.clock.now()):
        details = {s.rule_id: s for s in await storage.subscription_details(chat_id)}
        if rule_id not in details:
            await storage.unmute_rule(chat_id, rule_id)  # unsubscribed meanwhile: forget it
            continue
        caught_up = await unmute_rule(services, chat_id, rule_id, details[rule_id].thread_id)
        queued += bool(caught_up)
    return queued
