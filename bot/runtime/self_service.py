"""The running app's self-service parts (#16), wired in one call so that ``App`` stays small:
the chats' /settings loaded into ``Services.chat_prefs``, the rules saved from the chat
(``bot.personal_rules``) composed into what the rules reloader compiles, and the admins'
all-clear when the rule files are valid again after an error.

``start`` sets the reloader's ``compose`` and ``on_recovered`` and returns the
``PersonalRules`` the Telegram handlers use; ``follow`` keeps a replica's rule set on the rules
saved through another replica (PostgreSQL: only the sender runs Telegram, every replica polls
feeds and matches). Sends nothing itself (the all-clear goes through the ``notify`` it is
given).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.personal_rules import PersonalRules, is_personal_rule_id
from bot.runtime.rules_reloader import RuleReloader
from bot.services import Services
from core.errors import NewswatchError
from core.models import RuleInfo
from rules import RuleSet

__all__ = ["PersonalRules", "file_rules", "follow", "is_personal", "start"]

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]
FOLLOW_EVERY_S = 30.0  # how soon a replica matches a rule saved through another one
is_personal = is_personal_rule_id


def file_rules(rules: RuleSet) -> list[RuleInfo]:
    """The rules of the rule files (each chat's personal rules left out)."""
    return [r for r in rules.rules if not is_personal_rule_id(r.id)]


async def start(services: Services, reloader: RuleReloader, notify: Notify) -> PersonalRules:
    """Load the chats' settings; put the personal rules in force next to the rule files (the
    reloader composes them in, a change to one recompiles, a promotion re-reads the files);
    send ``notify`` an all-clear when the files are valid again after an error."""
    storage = services.storage
    services.chat_prefs.load(await storage.chat_settings())
    personal = PersonalRules(services)
    reloader.compose = personal.compose
    personal.rebuild = reloader.recompose
    personal.reload_files = reloader.reload_now

    async def all_clear(new: RuleSet) -> None:
        await notify(f"✅ The rule files are valid again: {len(new.rules)} rules in force.")

    reloader.on_recovered = all_clear
    await personal.load()
    if await storage.personal_rules():
        # The files were read a moment ago at start-up: read them again, compiled with these.
        await reloader.reload_now()
    return personal


async def follow(personal: PersonalRules, every_s: float = FOLLOW_EVERY_S) -> None:
    """Until cancelled: every ``every_s``, read the personal rules again and recompile when they
    changed (a rule saved, edited or deleted through another replica), and the chats'
    ``/settings`` (saved through another replica, read by this one's sender). The reloader
    compares the sources first, so an unchanged read compiles nothing."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await personal.refresh()
            services = personal.services
            services.chat_prefs.load(await services.storage.chat_settings())
        except NewswatchError as e:  # the database away for a moment: try again next time
            log.warning("personal rules not re-read: %s", e)
