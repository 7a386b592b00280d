"""Files from the chat: ``/export [csv|jsonl] [DAYS]`` sends this chat's matches (the rules it
is subscribed to, the last DAYS days, 30 by default) as a CSV or JSON Lines file, written by
``Storage.export_matches`` exactly as ``newswatch export`` writes it; ``/feeds export`` (the
bot's administrators) sends the feed list as OPML (``bot.config.opml``), an OPML file sent with
the caption ``/feeds import`` adds its feeds (each checked as ``/addfeed`` checks it, at most 50),
and ``/feeds`` with no argument is the feed health list (``admin``).

Files go out through ``replies.send_file`` and ``TelegramSink.send_file``; an imported file is
downloaded with ``getFile`` (at most 1 MB).
"""

from __future__ import annotations

import io
from datetime import timedelta

from telegram import Update

from bot.config.opml import MAX_OPML_BYTES, feeds_from_opml, feeds_to_opml
from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context, admin_gate, gate
from bot.telegram.handlers.admin import AdminCommands
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply, send_file
from bot.telegram.handlers.text import esc, plural
from core.errors import ConfigError, NewswatchError
from core.models import FeedConfig
from storage.base import ExportFormat

DEFAULT_DAYS = 30
MAX_DAYS = 3650
MAX_FILE_BYTES = 20 * 1024 * 1024  # well inside the 50 MB a bot may upload
MAX_IMPORT = 50  # feeds per OPML import: each is fetched and checked


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
        rows = await storage.export_matches(
            buffer,
            fmt,
            now - timedelta(days=days),
            None,
            rule_ids,
            explain=self.services.rules.current.hits_for,
        )
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
                "Send the OPML file (as a file) with the caption <code>/feeds import</code>: "
                "each feed in it is checked and added as <code>/addfeed</code> does.",
            )
            return
        await usage(self.out, update, "feeds", "Give nothing, export or import.")

    async def feeds_import_file(self, update: Update, context: Context) -> None:
        """A file sent with the caption ``/feeds import``: every feed of the OPML file that is
        not configured yet goes through the same checked add as ``/addfeed``."""
        if not await admin_gate(self.services.settings, self.out, update):
            return
        message = update.effective_message
        document = message.document if message is not None else None
        if document is None:
            return
        if document.file_size is not None and document.file_size > MAX_OPML_BYTES:
            await reply(self.out, update, "❌ Not imported: the file is larger than 1 MB.")
            return
        actions = self.admin.admin_actions
        if actions is None:
            await reply(self.out, update, "❌ Feed changes are not available here.")
            return
        downloaded = await context.bot.get_file(document.file_id)
        data = bytes(await downloaded.download_as_bytearray())
        try:
            listed = feeds_from_opml(data)
        except ConfigError as e:
            await reply(self.out, update, f"❌ Not imported: {esc(str(e))}.")
            return
        if len(listed) > MAX_IMPORT:
            await reply(
                self.out,
                update,
                f"❌ Not imported: the file lists {len(listed)} feeds; import at most "
                f"{MAX_IMPORT} at a time (each one is fetched and checked).",
            )
            return
        known = {f.url for f in await self.services.storage.list_feeds()}
        lines: list[str] = []
        added = 0
        for feed in listed:
            if feed.url in known:
                lines.append(f"• {esc(feed.url)}: already configured")
                continue
            try:
                note = await actions.add_feed(feed.url)
            except NewswatchError as e:
                note = f"Could not add it: {e}"
            added += note.startswith("Added")
            lines.append(f"• {esc(feed.url)}: {esc(note)}")
        head = f"📥 OPML: {plural(len(listed), 'feed')} listed, {added} added."
        await reply(self.out, update, "\n".join([head, *lines]))
