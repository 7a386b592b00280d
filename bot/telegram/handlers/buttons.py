"""The buttons under a rules page: ``p:PAGE`` turns the page, ``s:TOKEN:PAGE`` and
``u:TOKEN:PAGE`` subscribe and unsubscribe the chat the page is in, then redraw it;
``rc:TOKEN:PAGE`` (``/recent``'s "More") sends the next page of stories.

Presses obey the same access rules as the commands (``access.may_press``); the preamble (a
stranger, a message too old) is ``keyboards.pressed``'s. Answers the callback query itself (the
toast or alert on the presser's screen, in the chat's language); the page text comes from
``subscriptions.rules_page`` and the redraw goes through ``replies.redraw``.
"""

from __future__ import annotations

from telegram import CallbackQuery, Update

from bot.delivery.alert_format import clean_text, shorten
from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import Context, may_press
from bot.telegram.handlers.browse import RecentSearches, recent_page, search_page
from bot.telegram.handlers.keyboards import pressed, unsupported
from bot.telegram.handlers.membership import remember_chat
from bot.telegram.handlers.replies import redraw, send_to
from bot.telegram.handlers.rule_lookup import rule_by_token
from bot.telegram.handlers.subscriptions import SubscribeOutcome, rules_page, subscribe_here


class ButtonHandlers:
    """Every callback query."""

    def __init__(
        self, services: Services, out: ReplySender, searches: RecentSearches | None = None
    ) -> None:
        self.services = services
        self.out = out
        self.searches = searches if searches is not None else RecentSearches()

    async def button(self, update: Update, context: Context) -> None:
        press = await pressed(self.services, self.out, update, "/rules")
        if press is None:
            return
        query, message, chat, lang = press.query, press.message, press.chat, press.lang
        kind, first, second = press.parts
        if kind == "p":
            page = int(first) if first.isdigit() else 0
            await self._show_page(query, chat.id, page)
            await query.answer()
            return
        if kind == "rc":  # /recent's "More": rule token (or * for the chat's rules), page
            token, page_text = first, second
            rule = None if token == "*" else rule_by_token(self.services.rules, token)
            if token != "*" and rule is None:
                await query.answer(text(lang, "rules.gone"), show_alert=True)
                return
            more, markup = await recent_page(
                self.services,
                chat.id,
                rule.id if rule else None,
                int(page_text) if page_text.isdigit() else 0,
            )
            # "More" adds a message below (the earlier page stays readable above it).
            await send_to(self.out, message, more, markup)
            await query.answer()
            return
        if kind == "sr":  # /search paging: search number, page
            number_text, page_text = first, second
            query_text = self.searches.get(int(number_text)) if number_text.isdigit() else None
            if query_text is None:
                await query.answer(text(lang, "search.expired"), show_alert=True)
                return
            found, markup = await search_page(
                self.services,
                self.searches,
                chat.id,
                query_text,
                int(page_text) if page_text.isdigit() else 0,
            )
            await redraw(self.out, query, found, markup)
            await query.answer()
            return
        if kind not in ("s", "u"):
            await unsupported(press, "/rules")
            return
        token, page_text = first, second
        page = int(page_text) if page_text.isdigit() else 0
        if not await may_press(self.services.settings, update, context, chat):
            await query.answer(text(lang, "target.group_admins"), show_alert=True)
            return
        rule = rule_by_token(self.services.rules, token)
        if rule is None:
            await self._show_page(query, chat.id, page)
            await query.answer(text(lang, "rules.gone"), show_alert=True)
            return
        storage = self.services.storage
        await remember_chat(storage, chat)
        name = shorten(clean_text(rule.name), 60)
        if kind == "s":
            thread = message.message_thread_id if message.is_topic_message else None
            outcome = await subscribe_here(self.services, chat.id, rule.id, thread)
            key = {
                SubscribeOutcome.ADDED: "rules.subscribed",
                SubscribeOutcome.MOVED: "rules.moved",
                SubscribeOutcome.ALREADY: "rules.already",
            }[outcome]
        else:
            changed = await storage.unsubscribe(chat.id, rule.id)
            key = "rules.unsubscribed" if changed else "rules.not_subscribed"
        # Redraw first, then answer: the answer ends the button's spinner.
        await self._show_page(query, chat.id, page)
        await query.answer(text(lang, key, name=name))

    async def _show_page(self, query: CallbackQuery, chat_id: int, page: int) -> None:
        page_text, markup = await rules_page(self.services, chat_id, page)
        await redraw(self.out, query, page_text, markup)
