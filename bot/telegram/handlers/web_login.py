"""``/web``: a one-time link to the web console, for an allowed user in a private chat.

Asks the injected ``WebLogin`` (the console's ``LoginLinks`` behind ``bot.runtime``) for a link
and replies with it (in the chat's language); admins get an editing session, others a
read-only one. Does not check the link or serve the console.
"""

from __future__ import annotations

from typing import Protocol

from telegram import Update

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import Context, chat_language, gate, is_admin
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc


class WebLogin(Protocol):
    """Issues a one-time console login link for a Telegram user (None: no console here)."""

    def login_link(self, user_id: int, admin: bool) -> str | None: ...


class WebLoginCommand:
    def __init__(self, services: Services, web_login: WebLogin | None, out: ReplySender) -> None:
        self.services = services
        self.web_login = web_login
        self.out = out

    async def web(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or chat.type != "private":
            await reply(self.out, update, text(lang, "web.private_only"))
            return
        link = (
            self.web_login.login_link(user.id, is_admin(self.services.settings, user.id))
            if (self.web_login is not None)
            else None
        )
        if link is None:
            await reply(self.out, update, text(lang, "web.disabled"))
            return
        await reply(self.out, update, text(lang, "web.link", link=esc(link)))
