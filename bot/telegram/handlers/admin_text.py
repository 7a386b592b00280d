"""The language-aware framing shared by the personal-rule, file and feed-administration
handlers (``personal``, ``exports``, ``admin``, ``feed_buttons``): the chat's language, the
"what was wrong and the right usage" answer, a refused query with its caret block, and the
administrators-only gate, each in the chat's language from ``bot.i18n.admin_messages``.

Who may do what stays ``access``'s (``admins_only`` asks it); the rule engine's own message and
hint stay as the engine wrote them, only the sentences around them are translated. Sends
nothing but the replies named here.
"""

from __future__ import annotations

from telegram import Update

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import gate, is_admin
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc
from core.models import Language


def language_of(services: Services, chat_id: int | None) -> Language | None:
    """The language chosen for ``chat_id`` (None: English, also when there is no chat)."""
    return services.chat_prefs.get(chat_id).language if chat_id is not None else None


def update_language(services: Services, update: Update) -> Language | None:
    """The language of the chat ``update`` came from."""
    chat = update.effective_chat
    return language_of(services, chat.id if chat is not None else None)


async def usage_in(
    out: ReplySender, update: Update, language: Language | None, command: str, problem: str
) -> None:
    """Answer a bad ``command`` (one of this area's: ``adm.usage.<command>``) with ``problem``
    (plain text) and the command's usage line, both in ``language``."""
    usage = text(language, f"adm.usage.{command}")
    await reply(out, update, text(language, "adm.usage", problem=esc(problem), usage=esc(usage)))


async def admins_only(services: Services, out: ReplySender, update: Update) -> bool:
    """``access.gate``, then only the bot's administrators go on; anyone else is told so in
    the chat's language."""
    settings = services.settings
    lang = update_language(services, update)
    if not await gate(settings, out, update, lang):
        return False
    user = update.effective_user
    if not is_admin(settings, user.id if user else None):
        await reply(out, update, text(lang, "adm.admins_only"))
        return False
    return True
