"""Reading what the bot has stored: ``/recent`` (latest matches), ``/search`` (stored articles)
and ``/status`` (feeds, rules and this chat's queue; the scheduler's state for administrators).

Read-only: changes nothing in storage.
"""

from __future__ import annotations

from telegram import Update

from bot.delivery.alert_format import clean_text, rule_tags, shorten
from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, is_admin
from bot.telegram.handlers.admin import AdminActions
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.rule_lookup import all_rules, find_rule, unknown_rule
from bot.telegram.handlers.text import esc, link, plural, rule_tag


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
        storage = self.services.storage
        if args:
            rule = find_rule(self.services.rules, args[0])
            if rule is None:
                await usage(self.out, update, "recent", unknown_rule(self.services.rules, args[0]))
                return
            found = await storage.recent_matches(rule_id=rule.id, limit=10)
            heading = f"Latest matches for {esc(rule_tags([rule.id])[0])}"
        else:
            if not await storage.subscriptions(chat.id):
                await reply(
                    self.out,
                    update,
                    "This chat has no subscriptions, so there is nothing recent for it. Try "
                    "<code>/recent RULE</code> or /rules.",
                )
                return
            found = await storage.recent_matches(chat_id=chat.id, limit=10)
            heading = "Latest matches for your rules"
        if not found:
            await reply(self.out, update, f"{heading}: none yet.")
            return
        tz = self.services.settings.tz
        lines = [f"<b>{heading}</b>"]
        for m in found:
            when = (m.published_at or m.matched_at).astimezone(tz).strftime("%d %b %H:%M")
            lines.append(f"• {link(m.title, m.link)} — {esc(rule_tag(m.rule_id))} · {when}")
        await reply(self.out, update, "\n".join(lines))

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
