"""The chat a command acts on: the chat it was sent in, or a channel or group named as its last
argument (``@channel`` or a numeric id, only from a private chat).

``resolve_target`` checks what that takes (a group's administrators change a group; a channel
needs the sender to administer it and the bot to be an administrator who may post), records the
chat, and answers why not when it refuses (in the language of the chat the command came from).
Does not change subscriptions itself.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import Context, is_admin, is_chat_admin, may_change
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.membership import remember_chat
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc
from core.models import Chat, ChatType

_TARGET_RE = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-\d{5,20})$")


class Target(NamedTuple):
    chat_id: int
    thread_id: int | None
    """The forum topic the command was sent in (alerts go there); None for a whole chat."""
    label: str
    """How replies name the chat (HTML): "this chat" in the asking chat's language, or the
    channel's title."""


async def resolve_target(
    services: Services,
    out: ReplySender,
    update: Update,
    context: Context,
    args: list[str],
    command: str,
) -> Target | None:
    """The chat ``command`` acts on; pops a trailing ``@channel`` off ``args``.

    None after replying why not.
    """
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    assert chat is not None
    assert user is not None
    settings = services.settings
    lang = services.chat_prefs.get(chat.id).language  # replies in the asking chat's language
    if args and _TARGET_RE.match(args[-1]):
        target = args.pop()
        if chat.type != ChatType.PRIVATE:
            await usage(out, update, command, text(lang, "target.from_private"), lang)
            return None
        try:
            target_chat = await context.bot.get_chat(
                target if target.startswith("@") else int(target)
            )
        except (BadRequest, Forbidden):
            await usage(out, update, command, text(lang, "target.cannot_see", target=target), lang)
            return None
        if target_chat.type == ChatType.PRIVATE:
            await usage(out, update, command, text(lang, "target.not_channel", target=target), lang)
            return None
        if not (
            is_admin(settings, user.id) or await is_chat_admin(context, target_chat.id, user.id)
        ):
            await reply(out, update, text(lang, "target.not_admin", target=esc(target)))
            return None
        if target_chat.type == ChatType.CHANNEL and not await is_chat_admin(
            context, target_chat.id, context.bot.id
        ):
            await reply(out, update, text(lang, "target.cannot_post", target=esc(target)))
            return None
        await services.storage.upsert_chat(
            Chat(
                id=target_chat.id,
                type=ChatType.parse(str(target_chat.type)),
                title=target_chat.title or target_chat.username,
            )
        )
        return Target(target_chat.id, None, esc(target_chat.title or target))
    if not await may_change(settings, update, context):
        await reply(out, update, "❌ " + text(lang, "target.group_admins"))
        return None
    await remember_chat(services.storage, chat)
    thread = message.message_thread_id if message and message.is_topic_message else None
    return Target(chat.id, thread, text(lang, "target.this_chat"))
