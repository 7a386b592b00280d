"""The running app's self-service parts (#16), wired in one call so that ``App`` stays small:
the chats' /settings loaded into ``Services.chat_prefs``, the rules saved from the chat
(``bot.personal_rules``) composed into what the rules reloader compiles, and the admins'
all-clear when the rule files are valid again after an error.

``start_self_service`` sets the reloader's ``compose`` and ``on_recovered`` and returns the
``PersonalRules`` the Telegram handlers use. Sends nothing itself (the all-clear goes through
the ``notify`` it is given).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.personal_rules import PersonalRules, is_personal_rule_id
from bot.runtime.rules_reloader import RuleReloader
from bot.services import Services
from core.models import RuleInfo
from rules import RuleSet

__all__ = ["PersonalRules", "file_rules", "start_self_service"]

Notify = Callable[[str], Awaitable[None]]


def file_rules(rules: RuleSet) -> list[RuleInfo]:
    """The rules of the rule files (each chat's personal rules left out)."""
    return [r for r in rules.rules if not is_personal_rule_id(r.id)]


async def start_self_service(
    services: Services, reloader: RuleReloader, notify: Notify
) -> PersonalRules:
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
