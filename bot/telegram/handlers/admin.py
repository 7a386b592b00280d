"""The bot administrators' commands: ``/feeds`` (feed health), ``/addfeed``, ``/removefeed``,
``/reload`` and ``/stats`` (matches per rule, outbox depth), each only for ``Settings.admin_ids``.

Does not edit configuration files or reload rules itself: it calls the injected
``AdminActions`` (``bot.runtime.admin_actions`` implements it) and reports what they say.
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
from bot.services import Services
from bot.telegram.handlers.access import Context, admin_gate
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc, plural, rule_tag
from core.errors import NewswatchError
from core.models import FeedState
from core.text import first_poll_text


class AdminActions(Protocol):
    """What the admin commands ask of the running application. Each returns the reply text
    (plain, one or a few lines); raising ``NewswatchError`` is reported to the admin."""

    async def add_feed(self, url: str) -> str: ...

    async def remove_feed(self, url: str) -> str: ...

    async def set_feed_enabled(self, url: str, enabled: bool) -> str: ...

    async def reload_rules(self) -> str: ...

    async def status_text(self) -> str: ...


class AdminCommands:
    """``/feeds``, ``/addfeed``, ``/removefeed``, ``/reload`` and ``/stats``."""

    def __init__(
        self, services: Services, admin_actions: AdminActions | None, out: ReplySender
    ) -> None:
        self.services = services
        self.out = out
        self.admin_actions = admin_actions

    async def feeds(self, update: Update, context: Context) -> None:
        if not await admin_gate(self.services.settings, self.out, update):
            return
        feeds = await self.services.storage.list_feeds()
        if not feeds:
            await reply(
                self.out, update, "No feeds configured. Add one with <code>/addfeed URL</code>."
            )
            return
        settings = self.services.settings
        text, markup = feeds_page(
            feeds, settings.tz, alert_on_first_poll=settings.alert_on_first_poll
        )
        await reply(self.out, update, text, markup)

    async def addfeed(self, update: Update, context: Context) -> None:
        await self._feed_command(update, context, "addfeed")

    async def removefeed(self, update: Update, context: Context) -> None:
        await self._feed_command(update, context, "removefeed")

    async def _feed_command(self, update: Update, context: Context, command: str) -> None:
        if not await admin_gate(self.services.settings, self.out, update):
            return
        args = list(context.args or [])
        if len(args) != 1 or not re.match(r"^https?://[^\s/]+", args[0]):
            await usage(
                self.out, update, command, "Give one feed address starting with http(s)://."
            )
            return
        actions = self.admin_actions
        if actions is None:
            await reply(self.out, update, "❌ Feed management is not available in this setup.")
            return
        url = args[0]
        if command == "addfeed":
            await _run_action(self.out, update, lambda: actions.add_feed(url))
        else:
            await _run_action(self.out, update, lambda: actions.remove_feed(url))

    async def reload(self, update: Update, context: Context) -> None:
        if not await admin_gate(self.services.settings, self.out, update):
            return
        actions = self.admin_actions
        if actions is None:
            await reply(self.out, update, "❌ Reloading is not available in this setup.")
            return
        await _run_action(self.out, update, actions.reload_rules)

    async def stats(self, update: Update, context: Context) -> None:
        if not await admin_gate(self.services.settings, self.out, update):
            return
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
        lines = ["<b>Matches, last 7 days</b> (today)"]
        if not per_rule:
            lines.append("none")
        for rule_id, (week_n, today_n) in sorted(per_rule.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"{esc(rule_tag(rule_id))}: {week_n} ({today_n})")
        lines.append(f"\nOutbox: {plural(await storage.pending_count(), 'alert')} waiting.")
        if self.admin_actions is not None:
            lines.append(esc(await self.admin_actions.status_text()))
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
) -> tuple[str, InlineKeyboardMarkup]:
    """The numbered feed list with pause / resume and remove buttons per feed (``fd:ACTION:N:
    KEY``, KEY a short hash of the address so that a press on a changed list is refused);
    ``confirm`` asks again before feed number ``confirm`` is removed."""
    lines = [f"<b>Feeds</b> ({len(feeds)})"]
    rows: list[list[InlineKeyboardButton]] = []
    for n, feed in enumerate(feeds, 1):
        lines.append(f"{n}. {_feed_line(feed, tz, alert_on_first_poll)}")
        key = feed_key(feed.url)

        def button(text: str, action: str, n: int = n, key: str = key) -> InlineKeyboardButton:
            return InlineKeyboardButton(text, callback_data=f"fd:{action}:{n}:{key}")

        if confirm == n:
            rows.append([button(f"❗ Really remove {n}", "x"), button("Keep it", "k")])
            continue
        toggle = button(f"▶ Resume {n}", "r") if not feed.enabled else button(f"⏸ Pause {n}", "p")
        rows.append([toggle, button(f"🗑 Remove {n}", "d")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def feed_key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()[:8]


def _feed_line(feed: FeedState, tz: ZoneInfo, alert_on_first_poll: bool = False) -> str:
    name = esc(clean_text(feed.name or feed.title or feed.url))
    url = esc(feed.url)
    if feed.disabled_reason or not feed.enabled:
        return f"⛔ <b>{name}</b> — {url}\n   disabled: {esc(feed.disabled_reason or 'in config')}"
    if feed.consecutive_errors:
        error = esc(shorten(feed.last_error or "error", 200))
        return f"⚠️ <b>{name}</b> — {url}\n   {feed.consecutive_errors} errors in a row: {error}"
    last = (
        feed.last_success_at.astimezone(tz).strftime("%d %b %H:%M")
        if feed.last_success_at
        else "not yet"
    )
    line = f"✅ <b>{name}</b> — {url}\n   last fetched {last}, {feed.items_seen} items seen"
    if not alert_on_first_poll and only_first_poll_items(feed):
        line += f"\n   {esc(first_poll_text(feed.items_seen))}"
    return line


def only_first_poll_items(feed: FeedState) -> bool:
    """Has the feed had its first poll and no new story since? (The first poll sets the last
    new item's time but no average gap between items: the next new story sets that.)"""
    return feed.first_poll_done and feed.items_seen > 0 and feed.avg_new_item_interval_s is None
