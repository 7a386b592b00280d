"""Reading what the bot has stored: ``/recent`` (latest stories, each once with its rules' tags,
paged with a "More" button), ``/search`` (stored articles)
and ``/status`` (feeds, rules and this chat's queue; the scheduler's state for administrators).

Read-only: changes nothing in storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.delivery.alert_format import clean_text, shorten
from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, is_admin
from bot.telegram.handlers.admin import AdminActions
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.rule_lookup import all_rules, find_rule, rule_token, unknown_rule
from bot.telegram.handlers.text import esc, link, plural, rule_tag

RECENT_PER_PAGE = 10
RECENT_MAX_PAGES = 20  # a "more" button stops here (200 stories): /export has the rest


@dataclass
class _Story:
    title: str
    link: str | None
    feed_url: str
    when: datetime
    rule_ids: list[str] = field(default_factory=list)


async def recent_page(
    services: Services, chat_id: int, rule_id: str | None, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page ``page`` (from 0) of the latest stories for ``rule_id`` or, with None, for the
    chat's subscribed rules: each story once, with the tags of every rule that matched it, its
    source and time, and a "More" button while there are older ones. Reads only."""
    storage = services.storage
    page = min(max(page, 0), RECENT_MAX_PAGES - 1)
    wanted = (page + 1) * RECENT_PER_PAGE + 1
    # A story matched by several rules is several matches: read enough to fill the page.
    limit = min(wanted * 8, 2000)
    if rule_id is not None:
        found = await storage.recent_matches(rule_id=rule_id, limit=limit)
        heading = f"Latest matches for {esc(rule_tag(rule_id))}"
    else:
        found = await storage.recent_matches(chat_id=chat_id, limit=limit)
        heading = "Latest matches for your rules"
    stories: dict[object, _Story] = {}
    for m in found:
        key: object = m.article_id if m.article_id is not None else (m.link, m.title)
        story = stories.get(key)
        if story is None:
            story = stories[key] = _Story(
                m.title, m.link, m.feed_url, m.published_at or m.matched_at
            )
        if m.rule_id not in story.rule_ids:
            story.rule_ids.append(m.rule_id)
    ordered = list(stories.values())
    shown = ordered[page * RECENT_PER_PAGE : (page + 1) * RECENT_PER_PAGE]
    if not shown:
        return f"{heading}: none yet.", None
    names = {f.url: f.name or f.title for f in await storage.list_feeds()}
    tz = services.settings.tz
    title = heading if page == 0 else f"{heading} (page {page + 1})"
    lines = [f"<b>{title}</b>"]
    for story in shown:
        when = story.when.astimezone(tz).strftime("%d %b %H:%M")
        source = names.get(story.feed_url) or urlsplit(story.feed_url).hostname or ""
        tags = " ".join(esc(rule_tag(r)) for r in sorted(story.rule_ids))
        where = f" · {esc(shorten(clean_text(source), 40))}" if source else ""
        lines.append(f"• {link(story.title, story.link)} — {tags}{where} · {when}")
    more = len(ordered) > (page + 1) * RECENT_PER_PAGE and page + 1 < RECENT_MAX_PAGES
    if not more:
        return "\n".join(lines), None
    token = rule_token(rule_id) if rule_id is not None else "*"
    button = InlineKeyboardButton("More ▶", callback_data=f"rc:{token}:{page + 1}")
    return "\n".join(lines), InlineKeyboardMarkup([[button]])


class BrowseCommands:
    """``/recent``, ``/search`` and ``/status``."""

    def __init__(
        self, services: Services, admin_actions: AdminActions | None, out: ReplySender
    ) -> None:
        self.services = services
        self.out = out
        self.admin_actions = admin_actions

    async def recent(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        args = list(context.args or [])
        chat = update.effective_chat
        assert chat is not None
        if len(args) > 1:
            await usage(self.out, update, "recent", "Give at most one rule.")
            return
        rule_id: str | None = None
        if args:
            rule = find_rule(self.services.rules, args[0])
            if rule is None:
                await usage(self.out, update, "recent", unknown_rule(self.services.rules, args[0]))
                return
            rule_id = rule.id
        elif not await self.services.storage.subscriptions(chat.id):
            await reply(
                self.out,
                update,
                "This chat has no subscriptions, so there is nothing recent for it. Try "
                "<code>/recent RULE</code> or /rules.",
            )
            return
        text, markup = await recent_page(self.services, chat.id, rule_id, 0)
        await reply(self.out, update, text, markup)

    async def search(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        query = " ".join(context.args or []).strip()
        if len(query.replace(" ", "")) < 2:
            await usage(self.out, update, "search", "Give at least one word to look for.")
            return
        if len(query) > 200:
            await usage(self.out, update, "search", "That is too long; use a few words.")
            return
        found = await self.services.storage.search_articles(query, limit=10)
        if not found:
            await reply(self.out, update, f"No stored article contains “{esc(query)}”.")
            return
        tz = self.services.settings.tz
        lines = [f"<b>Articles with “{esc(query)}”</b>"]
        for a in found:
            when = a.published_at.astimezone(tz).strftime("%d %b %Y") if a.published_at else ""
            lines.append(f"• {link(a.title, a.link)}" + (f" · {when}" if when else ""))
            if a.snippet.strip():
                lines.append(f"  <i>{esc(shorten(clean_text(a.snippet), 200))}</i>")
        await reply(self.out, update, "\n".join(lines))

    async def status(self, update: Update, context: Context) -> None:
        settings = self.services.settings
        if not await gate(settings, self.out, update):
            return
        chat = update.effective_chat
        assert chat is not None
        storage = self.services.storage
        feeds = await storage.list_feeds()
        active = [f for f in feeds if f.enabled and not f.disabled_reason]
        rules = all_rules(self.services.rules)
        subs = await storage.subscription_details(chat.id)
        waiting = await storage.pending_count(chat.id)
        lines = [
            f"👀 Watching {plural(len(active), 'feed')} with {plural(len(rules), 'rule')}.",
            f"This chat: {plural(len(subs), 'subscription')}, {plural(waiting, 'alert')} waiting "
            "to be sent.",
        ]
        if subs and subs[0].muted_until and subs[0].muted_until > self.services.clock.now():
            local = subs[0].muted_until.astimezone(settings.tz).strftime("%d %b %H:%M %Z")
            lines.append(f"🔕 Muted until {local}.")
        user = update.effective_user
        if is_admin(settings, user.id if user else None) and self.admin_actions is not None:
            lines.append("")
            lines.append(esc(await self.admin_actions.status_text()))
        await reply(self.out, update, "\n".join(lines))
