"""The buttons under the administrators' numbered ``/feeds`` list: ``fd:p:N:KEY`` pauses and
``fd:r:N:KEY`` resumes feed N (``enabled`` in the feeds file), ``fd:d:N:KEY`` asks again and
``fd:x:N:KEY`` removes it (``fd:k`` keeps it). KEY is a short hash of the feed's address: a
press on a list that changed since it was drawn is refused, never applied to another feed.

Only the bot's administrators; the edits are the injected ``AdminActions``' (the same as
``/addfeed`` and ``/removefeed``), this module only talks and redraws, in the language of the
chat the list is in (``bot.i18n.admin_messages``).
"""

from __future__ import annotations

from telegram import Message, Update

from bot.delivery.replies import ReplySender
from bot.i18n import text as tr
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, is_admin
from bot.telegram.handlers.admin import AdminActions, feed_key, feeds_page
from bot.telegram.handlers.admin_text import language_of, update_language
from bot.telegram.handlers.replies import redraw
from core.errors import NewswatchError


class FeedButtons:
    def __init__(
        self, services: Services, admin_actions: AdminActions | None, out: ReplySender
    ) -> None:
        self.services = services
        self.admin_actions = admin_actions
        self.out = out

    async def press(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        settings = self.services.settings
        if not await gate(settings, self.out, update):
            return
        message = query.message if isinstance(query.message, Message) else None
        lang = (
            language_of(self.services, message.chat.id)
            if message is not None
            else update_language(self.services, update)
        )
        user = update.effective_user
        if not is_admin(settings, user.id if user else None):
            await query.answer(tr(lang, "feeds.admins_only"), show_alert=True)
            return
        parts = query.data.split(":")
        if message is None or len(parts) != 4 or not parts[2].isdigit():
            await query.answer(tr(lang, "feeds.unsupported"))
            return
        _, action, number_text, key = parts
        feeds = await self.services.storage.list_feeds()
        number = int(number_text)
        feed = feeds[number - 1] if 1 <= number <= len(feeds) else None
        if feed is None or feed_key(feed.url) != key:
            await query.answer(tr(lang, "feeds.changed"), show_alert=True)
            return
        tz = settings.tz
        if action in ("d", "k"):  # ask again before removing; or keep it after all
            text, markup = feeds_page(
                feeds,
                tz,
                confirm=number if action == "d" else None,
                alert_on_first_poll=settings.alert_on_first_poll,
                language=lang,
            )
            await redraw(self.out, query, text, markup)
            await query.answer(tr(lang, "feeds.press_again" if action == "d" else "feeds.kept"))
            return
        if self.admin_actions is None or action not in ("p", "r", "x"):
            await query.answer(tr(lang, "feeds.unavailable"), show_alert=True)
            return
        try:
            if action == "x":
                note = await self.admin_actions.remove_feed(feed.url, lang)
            else:
                note = await self.admin_actions.set_feed_enabled(feed.url, action == "r", lang)
        except NewswatchError as e:
            note = tr(lang, "feeds.not_changed", error=e)
        text, markup = feeds_page(
            await self.services.storage.list_feeds(),
            tz,
            alert_on_first_poll=settings.alert_on_first_poll,
            language=lang,
        )
        await redraw(self.out, query, text, markup)
        await query.answer(note[:200])
