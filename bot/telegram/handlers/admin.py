"""The bot administrators' commands: ``/feeds`` (feed health), ``/addfeed``, ``/removefeed``,
``/reload`` and ``/stats`` (matches per rule, outbox depth), each only for ``Settings.admin_ids``.

Does not edit configuration files or reload rules itself: it calls the injected
``AdminActions`` (``bot.runtime.admin_actions`` implements it) and reports what they say, in
the chat's language (``bot.i18n.admin_messages``; the actions are given the language too).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.delivery.alert_format import clean_text, shorten
from bot.delivery.replies import ReplySender
from bot.i18n import text as tr
from bot.i18n.admin_messages import counted
from bot.services import Services
from bot.telegram.handlers.access import Context
from bot.telegram.handlers.admin_text import admins_only, update_language, usage_in
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc, rule_tag
from core.errors import NewswatchError
from core.models import FeedState, Language


class AdminActions(Protocol):
    """What the admin commands ask of the running application. Each returns the reply text
    (plain, one or a few lines) in ``language`` (English when None); raising
    ``NewswatchError`` is reported to the admin. A feed ``add_feed`` did add has a reply that
    begins with the catalogue's ``addfeed.added_word`` (``/feeds import`` counts them so)."""

    async def add_feed(self, url: str, language: Language | None = None) -> str: ...

    async def remove_feed(self, url: str, language: Language | None = None) -> str: ...

    async def set_feed_enabled(
        self, url: str, enabled: bool, language: Language | None = None
    ) -> str: ...

    async def reload_rules(self, language: Language | None = None) -> str: ...

    async def status_text(self, language: Language | None = None) -> str: ...


class AdminCommands:
    """``/feeds``, ``/addfeed``, ``/removefeed``, ``/reload`` and ``/stats``."""

    def __init__(
        self, services: Services, admin_actions: AdminActions | None, out: ReplySender
    ) -> None:
        self.services = services
        self.out = out
        self.admin_actions = admin_actions

    async def feeds(self, update: Update, context: Context) -> None:
        if not await admins_only(self.services, self.out, update):
            return
        lang = update_language(self.services, update)
        feeds = await self.services.storage.list_feeds()
        if not feeds:
            await reply(self.out, update, tr(lang, "feeds.none"))
            return
        settings = self.services.settings
        text, markup = feeds_page(
            feeds, settings.tz, alert_on_first_poll=settings.alert_on_first_poll, language=lang
        )
        await reply(self.out, update, text, markup)

    async def addfeed(self, update: Update, context: Context) -> None:
        await self._feed_command(update, context, "addfeed")

    async def removefeed(self, update: Update, context: Context) -> None:
        await self._feed_command(update, context, "removefeed")

    async def _feed_command(self, update: Update, context: Context, command: str) -> None:
        if not await admins_only(self.services, self.out, update):
            return
        lang = update_language(self.services, update)
        args = list(context.args or [])
        if len(args) != 1 or not re.match(r"^https?://[^\s/]+", args[0]):
            await usage_in(self.out, update, lang, command, tr(lang, "addfeed.give_url"))
            return
        actions = self.admin_actions
        if actions is None:
            await reply(self.out, update, tr(lang, "addfeed.unavailable"))
            return
        url = args[0]
        if command == "addfeed":
            await _run_action(self.out, update, lambda: actions.add_feed(url, lang))
        else:
            await _run_action(self.out, update, lambda: actions.remove_feed(url, lang))

    async def reload(self, update: Update, context: Context) -> None:
        if not await admins_only(self.services, self.out, update):
            return
        lang = update_language(self.services, update)
        actions = self.admin_actions
        if actions is None:
            await reply(self.out, update, tr(lang, "reload.unavailable"))
            return
        await _run_action(self.out, update, lambda: actions.reload_rules(lang))

    async def stats(self, update: Update, context: Context) -> None:
        if not await admins_only(self.services, self.out, update):
            return
        lang = update_language(self.services, update)
        storage = self.services.storage
        now = self.services.clock.now()
        counts = await storage.match_counts_per_day(now - timedelta(days=7))
        today = now.date()
        per_rule: dict[str, list[int]] = {}
        for rule_id, day, n in counts:
            totals = per_rule.setdefault(rule_id, [0, 0])
            totals[0] += n
            if day == today:
                totals[1] += n
        lines = [tr(lang, "stats.title")]
        if not per_rule:
            lines.append(tr(lang, "stats.none"))
        for rule_id, (week_n, today_n) in sorted(per_rule.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"{esc(rule_tag(rule_id))}: {week_n} ({today_n})")
        waiting = counted(lang, await storage.pending_count(), "alert")
        lines.append("\n" + tr(lang, "stats.outbox", alerts=waiting))
        if self.admin_actions is not None:
            lines.append(esc(await self.admin_actions.status_text(lang)))
        await reply(self.out, update, "\n".join(lines))


async def _run_action(
    out: ReplySender, update: Update, action: Callable[[], Awaitable[str]]
) -> None:
    """Run one ``AdminActions`` call and reply with its text, or with why it failed."""
    try:
        result = await action()
    except NewswatchError as e:
        await reply(out, update, f"❌ {esc(str(e))}")
        return
    await reply(out, update, esc(result))


def feeds_page(
    feeds: list[FeedState],
    tz: ZoneInfo,
    confirm: int | None = None,
    *,
    alert_on_first_poll: bool = False,
    language: Language | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The numbered feed list with pause / resume and remove buttons per feed (``fd:ACTION:N:
    KEY``, KEY a short hash of the address so that a press on a changed list is refused);
    ``confirm`` asks again before feed number ``confirm`` is removed. In ``language``."""
    lines = [tr(language, "feeds.title", count=len(feeds))]
    rows: list[list[InlineKeyboardButton]] = []
    for n, feed in enumerate(feeds, 1):
        lines.append(f"{n}. {_feed_line(feed, tz, alert_on_first_poll, language)}")
        key = feed_key(feed.url)

        def button(label: str, action: str, n: int = n, key: str = key) -> InlineKeyboardButton:
            return InlineKeyboardButton(
                tr(language, f"feeds.button.{label}", number=n),
                callback_data=f"fd:{action}:{n}:{key}",
            )

        if confirm == n:
            rows.append([button("really_remove", "x"), button("keep", "k")])
            continue
        toggle = button("resume", "r") if not feed.enabled else button("pause", "p")
        rows.append([toggle, button("remove", "d")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def feed_key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()[:8]


def _feed_line(
    feed: FeedState, tz: ZoneInfo, alert_on_first_poll: bool, language: Language | None
) -> str:
    name = esc(clean_text(feed.name or feed.title or feed.url))
    url = esc(feed.url)
    if feed.disabled_reason or not feed.enabled:
        reason = esc(feed.disabled_reason or tr(language, "feeds.in_config"))
        return tr(language, "feeds.disabled", name=name, url=url, reason=reason)
    if feed.consecutive_errors:
        error = esc(shorten(feed.last_error or tr(language, "adm.error"), 200))
        count = feed.consecutive_errors
        return tr(language, "feeds.failing", name=name, url=url, count=count, error=error)
    fetched = (
        tr(
            language,
            "feeds.fetched_at",
            when=feed.last_success_at.astimezone(tz).strftime(tr(language, "feeds.time_format")),
        )
        if feed.last_success_at
        else tr(language, "feeds.not_yet")
    )
    items = feed.items_seen
    line = tr(language, "feeds.healthy", name=name, url=url, fetched=fetched, items=items)
    if not alert_on_first_poll and only_first_poll_items(feed):
        recorded = counted(language, items, "existing_item")
        line += "\n   " + esc(tr(language, "feeds.first_poll", items=recorded))
    return line


def only_first_poll_items(feed: FeedState) -> bool:
    """Has the feed had its first poll and no new story since? (The first poll sets the last
    new item's time but no average gap between items: the next new story sets that.)"""
    return feed.first_poll_done and feed.items_seen > 0 and feed.avg_new_item_interval_s is None
