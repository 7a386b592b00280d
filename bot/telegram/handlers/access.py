"""Who may do what: the allowlist, the bot's administrators and a group's administrators.

``gate`` lets allowlisted people through and gives strangers a polite refusal and no data;
``admin_gate`` also requires ``Settings.admin_ids``. ``may_change`` says whether the sender may
change the current chat's subscriptions (private chat: yes; group: its administrators, asked with
getChatMember, or an anonymous administrator writing as the group; the bot's administrators
everywhere); ``may_press`` is the same question for a subscribe button; ``chat_language`` is
the language the chat's replies are in. Does not pick the chat a command acts on (``targets``)
and composes no reply beyond the two refusals.
"""

from __future__ import annotations

import logging

from telegram import Chat as TgChat
from telegram import Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.config.settings import Settings
from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.replies import refuse_stranger, reply
from core.models import ChatType, Language

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
"""The PTB callback context every handler receives (its ``bot`` and the command's ``args``)."""

_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


def chat_language(services: Services, update: Update) -> Language | None:
    """The language the update's chat chose in ``/settings`` (None: English, the default)."""
    chat = update.effective_chat
    return services.chat_prefs.get(chat.id).language if chat is not None else None


def is_admin(settings: Settings, user_id: int | None) -> bool:
    return user_id is not None and user_id in settings.admin_ids


def is_allowed(settings: Settings, user_id: int | None, chat_id: int | None) -> bool:
    allowed: frozenset[int] = settings.allowed_ids
    if not allowed:
        return True
    return (
        (user_id is not None and user_id in allowed)
        or (chat_id is not None and chat_id in allowed)
        or is_admin(settings, user_id)
    )


async def gate(
    settings: Settings, out: ReplySender, update: Update, lang: Language | None = None
) -> bool:
    """True to go on; else the stranger got a polite refusal, in ``lang`` (the chat's
    language; English without)."""
    user = update.effective_user
    chat = update.effective_chat
    if is_allowed(settings, user.id if user else None, chat.id if chat else None):
        return True
    who = user.id if user else "unknown"
    log.info("refused a stranger", extra={"chat": chat.id if chat else None, "user": who})
    refusal = text(lang, "access.stranger", who=who)
    if update.callback_query is not None:
        await update.callback_query.answer(refusal, show_alert=True)
    else:
        await refuse_stranger(out, update, refusal)
    return False


async def admin_gate(
    settings: Settings, out: ReplySender, update: Update, lang: Language | None = None
) -> bool:
    """``gate``, then only the bot's administrators go on (the others told so in ``lang``)."""
    if not await gate(settings, out, update, lang):
        return False
    user = update.effective_user
    if not is_admin(settings, user.id if user else None):
        await reply(out, update, text(lang, "access.admins_only"))
        return False
    return True


async def is_chat_admin(context: Context, chat_id: int | str, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except (BadRequest, Forbidden):
        # Not a member, or a chat the bot cannot see: either way not an administrator.
        return False
    return member.status in _ADMIN_STATUSES


def _is_own_chat(chat: TgChat, message: Message | None) -> bool:
    """Private chats belong to their user; an anonymous group admin writes as the group."""
    if chat.type == ChatType.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    return False


async def may_change(settings: Settings, update: Update, context: Context) -> bool:
    """May the sender change the subscriptions of the chat the command was sent in?"""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if _is_own_chat(chat, update.effective_message):
        return True
    return is_admin(settings, user.id) or await is_chat_admin(context, chat.id, user.id)


async def may_press(
    settings: Settings,
    update: Update,
    context: Context,
    chat: TgChat,
    *,
    chat_id: int | None = None,
) -> bool:
    """May the presser change ``chat``'s subscriptions with a button under a rules page?
    ``chat_id``: the id to ask Telegram about instead of ``chat.id`` (the supergroup a group
    became: the old id answers only "migrated")."""
    user = update.effective_user
    asked = chat.id if chat_id is None else chat_id
    return chat.type == ChatType.PRIVATE or (
        user is not None
        and (is_admin(settings, user.id) or await is_chat_admin(context, asked, user.id))
    )
