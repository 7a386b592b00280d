"""The buttons under a rules page: ``p:PAGE`` turns the page, ``s:TOKEN:PAGE`` and
``u:TOKEN:PAGE`` subscribe and unsubscribe the chat the page is in, then redraw it;
``rc:TOKEN:PAGE`` (``/recent``'s "More") sends the next page of stories.

Presses obey the same access rules as the commands (``access.may_press``). Answers the callback
query itself (the toast or alert on the presser's screen); the page text comes from
``subscriptions.rules_page`` and the redraw goes through ``replies.redraw``.
"""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update

from bot.delivery.alert_format import clean_text, shorten
from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, may_press
from bot.telegram.handlers.browse import RecentSearches, recent_page, search_page
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
        query = update.callback_query
        if query is None or query.data is None:
            return
        if not await gate(self.services.settings, self.out, update):
            return
        message = query.message if isinstance(query.message, Message) else None
        if message is None:
            await query.answer("This message is too old; send /rules again.", show_alert=True)
            return
        kind, _, rest = query.data.partition(":")
        chat = message.chat
        if kind == "p":
            page = int(rest) if rest.isdigit() else 0
            await self._show_page(query, chat.id, page)
            await query.answer()
            return
        if kind == "rc":  # /recent's "More": rule token (or * for the chat's rules), page
            token, _, page_text = rest.rpartition(":")
            rule = None if token == "*" else rule_by_token(self.services.rules, token)
            if token != "*" and rule is None:
                await query.answer("That rule no longer exists.", show_alert=True)
                return
            text, markup = await recent_page(
                self.services,
                chat.id,
                rule.id if rule else None,
                int(page_text) if page_text.isdigit() else 0,
            )
            # "More" adds a message below (the earlier page stays readable above it).
            await send_to(self.out, message, text, markup)
            await query.answer()
            return
        if kind == "sr":  # /search paging: search number, page
            number_text, _, page_text = rest.partition(":")
            query_text = self.searches.get(int(number_text)) if number_text.isdigit() else None
            if query_text is None:
                await query.answer("This search has expired; send /search again.", show_alert=True)
                return
            text, markup = await search_page(
                self.services,
                self.searches,
                chat.id,
                query_text,
                int(page_text) if page_text.isdigit() else 0,
            )
            await redraw(self.out, query, text, markup)
            await query.answer()
            return
        if kind not in ("s", "u"):
            await query.answer("This button is no longer supported; send /rules again.")
            return
        token, _, page_text = rest.rpartition(":")
        page = int(page_text) if page_text.isdigit() else 0
        if not await may_press(self.services.settings, update, context, chat):
            await query.answer(
                "Only this group's administrators can change its alerts.", show_alert=True
            )
            return
        rule = rule_by_token(self.services.rules, token)
        if rule is None:
            await self._show_page(query, chat.id, page)
            await query.answer("That rule no longer exists.", show_alert=True)
            return
        storage = self.services.storage
        await remember_chat(storage, chat)
        name = shorten(clean_text(rule.name), 60)
        if kind == "s":
            thread = message.message_thread_id if message.is_topic_message else None
            outcome = await subscribe_here(self.services, chat.id, rule.id, thread)
            note = {
                SubscribeOutcome.ADDED: f"Subscribed to {name}",
                SubscribeOutcome.MOVED: f"{name}: alerts now come to this topic",
                SubscribeOutcome.ALREADY: f"Already subscribed to {name}",
            }[outcome]
        else:
            changed = await storage.unsubscribe(chat.id, rule.id)
            note = f"Unsubscribed from {name}" if changed else f"Not subscribed to {name}"
        # Redraw first, then answer: the answer ends the button's spinner.
        await self._show_page(query, chat.id, page)
        await query.answer(note)

    async def _show_page(self, query: CallbackQuery, chat_id: int, page: int) -> None:
        text, markup = await rules_page(self.services, chat_id, page)
        await redraw(self.out, query, text, markup)
