"""Files from the chat: ``/export [csv|jsonl] [DAYS]`` sends this chat's matches (the rules it
is subscribed to, the last DAYS days, 30 by default) as a CSV or JSON Lines file, written by
``Storage.export_matches`` exactly as ``newswatch export`` writes it; ``/feeds export`` (the
bot's administrators) sends the feed list as OPML (``bot.config.opml``), and ``/feeds`` with no
argument is the feed health list (``admin``).

Files go out through ``replies.send_file`` and ``TelegramSink.send_file``. Importing OPML
from the chat is not built yet (the bot would have to download the file the admin sends); the
command says so and points to ``newswatch feeds add``.
"""

from __future__ import annotations

import io
from datetime import timedelta

from telegram import Update

from bot.config.opml import feeds_to_opml
from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context, admin_gate, gate
from bot.telegram.handlers.admin import AdminCommands
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply, send_file
from bot.telegram.handlers.text import plural
from core.models import FeedConfig
from storage.base import ExportFormat

DEFAULT_DAYS = 30
MAX_DAYS = 3650
MAX_FILE_BYTES = 20 * 1024 * 1024  # well inside the 50 MB a bot may upload


class ExportCommands:
    """``/export`` and ``/feeds export``."""

    def __init__(self, services: Services, out: ReplySender, admin: AdminCommands) -> None:
        self.services = services
        self.out = out
        self.admin = admin

    async def export(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        chat = update.effective_chat
        assert chat is not None
        fmt: ExportFormat = "csv"
        days = DEFAULT_DAYS
        for arg in context.args or []:
            word = arg.lower()
            if word in ("csv", "jsonl", "json"):
                fmt = "csv" if word == "csv" else "jsonl"
            elif word.isdigit() and 1 <= int(word) <= MAX_DAYS:
                days = int(word)
            else:
                await usage(
                    self.out,
                    update,
                    "export",
                    f"“{arg}” is neither a format (csv, jsonl) nor a number of days "
                    f"(1-{MAX_DAYS}).",
                )
                return
        storage = self.services.storage
        rule_ids = await storage.subscriptions(chat.id)
        if not rule_ids:
            await reply(
                self.out, update, "This chat has no subscriptions, so it has no matches to export."
            )
            return
        now = self.services.clock.now()
        buffer = io.StringIO()
        rows = await storage.export_matches(buffer, fmt, now - timedelta(days=days), None, rule_ids)
        if rows == 0:
            await reply(
                self.out, update, f"No matches in the last {plural(days, 'day')} to export."
            )
            return
        data = buffer.getvalue().encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            await reply(
                self.out,
                update,
                f"❌ {plural(rows, 'match')} make a file too large to send here; ask an "
                "administrator for <code>newswatch export</code>, or export fewer days.",
            )
            return
        name = f"newswatch-matches-{now:%Y%m%d}.{fmt}"
        caption = (
            f"📤 {plural(rows, 'match')} of this chat's rules from the last "
            f"{plural(days, 'day')} ({fmt.upper()})."
        )
        if not await send_file(self.out, update, name, data, caption):
            await reply(self.out, update, "❌ Telegram did not take the file; try again later.")

    async def feeds(self, update: Update, context: Context) -> None:
        """``/feeds`` (health), ``/feeds export`` (OPML), ``/feeds import``."""
        args = [a.lower() for a in context.args or []]
        if not args:
            await self.admin.feeds(update, context)
            return
        if not await admin_gate(self.services.settings, self.out, update):
            return
        if args == ["export"]:
            feeds = [
                FeedConfig(url=f.url, name=f.name or f.title, tags=f.tags)
                for f in await self.services.storage.list_feeds()
            ]
            if not feeds:
                await reply(self.out, update, "No feeds configured: nothing to export.")
                return
            data = feeds_to_opml(feeds).encode("utf-8")
            caption = f"📤 {plural(len(feeds), 'feed')} as OPML."
            if not await send_file(self.out, update, "newswatch-feeds.opml", data, caption):
                await reply(self.out, update, "❌ Telegram did not take the file; try again later.")
            return
        if args == ["import"]:
            await reply(
                self.out,
                update,
                "Importing OPML from the chat is not built yet. Add feeds one by one with "
                "<code>/addfeed URL</code>, or on the server with "
                "<code>newswatch feeds add URL</code>.",
            )
            return
        await usage(self.out, update, "feeds", "Give nothing, export or import.")
