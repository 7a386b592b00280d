"""The chats the bot is in, as storage records them.

``remember_chat`` stores (or refreshes) a chat the bot was spoken to in. ``MembershipHandlers``
follows ``my_chat_member`` updates (blocked or kicked: the chat is paused, its alerts wait;
unblocked or added: resumed) and moves a group's subscriptions, settings and personal rules
when it becomes a supergroup (``Storage.migrate_chat``, and the settings in force). Sends
nothing: nobody is listening in a chat that just blocked the bot.
"""

from __future__ import annotations

import logging

from telegram import Chat as TgChat
from telegram import Update
from telegram.constants import ChatMemberStatus

from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context
from core.models import Chat, ChatType
from storage.base import Storage

log = logging.getLogger(__name__)


async def remember_chat(storage: Storage, chat: TgChat) -> None:
    await storage.upsert_chat(
        Chat(
            id=chat.id,
            type=ChatType.parse(str(chat.type)),
            title=chat.title or chat.username,
            active=True,
        )
    )


class MembershipHandlers:
    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def my_chat_member(self, update: Update, context: Context) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat = change.chat
        status = change.new_chat_member.status
        storage = self.services.storage
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            log.info("bot removed or blocked; pausing the chat", extra={"chat": chat.id})
            await storage.set_chat_active(chat.id, False, now=self.services.clock.now())
        else:
            log.info("bot (re)joined or unblocked; resuming the chat", extra={"chat": chat.id})
            await remember_chat(storage, chat)
            await storage.set_chat_active(chat.id, True)

    async def migrated(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or message.migrate_to_chat_id is None:
            return
        log.info(
            "group migrated to %s", message.migrate_to_chat_id, extra={"chat": message.chat_id}
        )
        await self.services.storage.migrate_chat(message.chat_id, message.migrate_to_chat_id)
        # The settings in force follow too (as a send answered "migrated" makes them): without
        # this the new id would read the defaults until the next restart or re-read.
        self.services.chat_prefs.follow_migration(message.chat_id, message.migrate_to_chat_id)
