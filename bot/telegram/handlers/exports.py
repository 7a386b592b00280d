"""Files from the chat: ``/export [csv|jsonl] [DAYS]`` sends this chat's matches (the rules it
is subscribed to, the last DAYS days, 30 by default) as a CSV or JSON Lines file, written by
``Storage.export_matches`` exactly as ``newswatch export`` writes it; ``/feeds export`` (the
bot's administrators) sends the feed list as OPML (``bot.config.opml``), an OPML file sent with
the caption ``/feeds import`` adds its feeds (each checked as ``/addfeed`` checks it, at most 50),
and ``/feeds`` with no argument is the feed health list (``admin``).

Files go out through ``replies.send_file`` and ``TelegramSink.send_file``; an imported file is
downloaded with ``getFile`` (at most 1 MB). Replies and captions are in the chat's language
(``bot.i18n.admin_messages``); the files themselves are not translated.
"""

from __future__ import annotations

import io
from datetime import timedelta

from telegram import Update

from bot.config.opml import MAX_OPML_BYTES, feeds_from_opml, feeds_to_opml
from bot.delivery.replies import ReplySender
from bot.i18n import text as tr
from bot.i18n.admin_messages import counted
from bot.services import Services
from bot.telegram.handlers.access import Context, gate
from bot.telegram.handlers.admin import AdminCommands
from bot.telegram.handlers.admin_text import admins_only, language_of, update_language, usage_in
from bot.telegram.handlers.replies import reply, send_file
from bot.telegram.handlers.text import esc
from core.errors import ConfigError, NewswatchError
from core.models import FeedConfig, Language
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
        lang = language_of(self.services, chat.id)
        fmt: ExportFormat = "csv"
        days = DEFAULT_DAYS
        for arg in context.args or []:
            word = arg.lower()
            if word in ("csv", "jsonl", "json"):
                fmt = "csv" if word == "csv" else "jsonl"
            elif word.isdigit() and 1 <= int(word) <= MAX_DAYS:
                days = int(word)
            else:
                problem = tr(lang, "export.bad_arg", arg=arg, max_days=MAX_DAYS)
                await usage_in(self.out, update, lang, "export", problem)
                return
        storage = self.services.storage
        rule_ids = await storage.subscriptions(chat.id)
        if not rule_ids:
            await reply(self.out, update, tr(lang, "export.no_subscriptions"))
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
            period = counted(lang, days, "day")
            await reply(self.out, update, tr(lang, "export.no_matches", days=period))
            return
        data = buffer.getvalue().encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            matches = counted(lang, rows, "match")
            await reply(self.out, update, tr(lang, "export.too_large", matches=matches))
            return
        name = f"newswatch-matches-{now:%Y%m%d}.{fmt}"
        caption = tr(
            lang,
            "export.caption",
            matches=counted(lang, rows, "match"),
            days=counted(lang, days, "day"),
            format=fmt.upper(),
        )
        if not await send_file(self.out, update, name, data, caption):
            await reply(self.out, update, tr(lang, "export.not_sent"))

    async def feeds(self, update: Update, context: Context) -> None:
        """``/feeds`` (health), ``/feeds export`` (OPML), ``/feeds import``."""
        args = [a.lower() for a in context.args or []]
        if not args:
            await self.admin.feeds(update, context)
            return
        if not await admins_only(self.services, self.out, update):
            return
        lang = update_language(self.services, update)
        if args == ["export"]:
            feeds = [
                FeedConfig(url=f.url, name=f.name or f.title, tags=f.tags)
                for f in await self.services.storage.list_feeds()
            ]
            if not feeds:
                await reply(self.out, update, tr(lang, "feeds.nothing_to_export"))
                return
            data = feeds_to_opml(feeds).encode("utf-8")
            caption = tr(lang, "feeds.opml_caption", feeds=counted(lang, len(feeds), "feed"))
            if not await send_file(self.out, update, "newswatch-feeds.opml", data, caption):
                await reply(self.out, update, tr(lang, "export.not_sent"))
            return
        if args == ["import"]:
            await reply(self.out, update, tr(lang, "feeds.import_how"))
            return
        await usage_in(self.out, update, lang, "feeds", tr(lang, "feeds.usage"))

    async def feeds_import_file(self, update: Update, context: Context) -> None:
        """A file sent with the caption ``/feeds import``: every feed of the OPML file that is
        not configured yet goes through the same checked add as ``/addfeed``."""
        if not await admins_only(self.services, self.out, update):
            return
        lang = update_language(self.services, update)
        message = update.effective_message
        document = message.document if message is not None else None
        if document is None:
            return
        if document.file_size is not None and document.file_size > MAX_OPML_BYTES:
            await reply(self.out, update, tr(lang, "feeds.import_too_big"))
            return
        actions = self.admin.admin_actions
        if actions is None:
            await reply(self.out, update, tr(lang, "feeds.import_unavailable"))
            return
        downloaded = await context.bot.get_file(document.file_id)
        data = bytes(await downloaded.download_as_bytearray())
        try:
            listed = feeds_from_opml(data)
        except ConfigError as e:  # OPML's own message (bot.config.opml), framed
            await reply(self.out, update, tr(lang, "feeds.import_broken", error=esc(str(e))))
            return
        if len(listed) > MAX_IMPORT:
            await reply(
                self.out,
                update,
                tr(lang, "feeds.import_too_many", count=len(listed), max_feeds=MAX_IMPORT),
            )
            return
        known = {f.url for f in await self.services.storage.list_feeds()}
        lines: list[str] = []
        added = 0
        for feed in listed:
            if feed.url in known:
                lines.append(tr(lang, "feeds.import_known", url=esc(feed.url)))
                continue
            try:
                note = await actions.add_feed(feed.url, lang)
            except NewswatchError as e:
                note = tr(lang, "feeds.import_failed", error=e)
            added += was_added(note, lang)
            lines.append(f"• {esc(feed.url)}: {esc(note)}")
        head = tr(lang, "feeds.import_head", feeds=counted(lang, len(listed), "feed"), added=added)
        await reply(self.out, update, "\n".join([head, *lines]))


def was_added(note: str, language: Language | None) -> bool:
    """Does ``add_feed``'s reply say the feed was added? (It begins with the catalogue's
    ``addfeed.added_word``, in the chat's language, or in English from an ``AdminActions``
    that does not translate.)"""
    return note.startswith((tr(language, "addfeed.added_word"), tr(None, "addfeed.added_word")))
