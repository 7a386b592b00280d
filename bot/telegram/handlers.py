"""The conversation: Telegram commands and buttons that manage subscriptions and show data.

``register_handlers(application, services, admin_actions)`` adds every handler to a
python-telegram-bot ``Application``; ``BOT_COMMANDS`` (and ``ADMIN_COMMANDS``) feed
``set_my_commands``. Works in private chats, groups (``/cmd@botname``; only group admins change
a group's subscriptions), forum topics (a subscription remembers the topic it was made in) and
channels (managed from a private chat: ``/subscribe RULE @channel``). Access follows
``Settings.allowed_ids`` (empty: open) and ``Settings.admin_ids``; strangers get a polite refusal
and no data. Every bad command is answered with what was wrong and the right usage.

Replies are Telegram HTML with everything from feeds, rules and users escaped. Does not send
alerts (``TelegramSink`` does) and does not edit configuration files itself: the admin commands
call the injected ``AdminActions``.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram import Chat as TgChat
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config.settings import Settings
from bot.delivery.alert_format import clean_text, rule_tags, safe_link, shorten
from bot.runtime.services import Services
from core.errors import NewswatchError
from core.models import Chat, ChatType, DeliveryMode, FeedState, Priority, RuleInfo

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

RULES_PER_PAGE = 5
MAX_REPLY = 4000  # visible characters per reply message (Telegram allows 4,096)
MAX_MUTE = timedelta(days=365)
_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
_DURATION_PART_RE = re.compile(r"(\d+)\s*(m|min|h|d|w)", re.IGNORECASE)
_DURATION_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_TARGET_RE = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-\d{5,20})$")


class AdminActions(Protocol):
    """What the admin commands ask of the running application. Each returns the reply text
    (plain, one or a few lines); raising ``NewswatchError`` is reported to the admin."""

    async def add_feed(self, url: str) -> str: ...

    async def remove_feed(self, url: str) -> str: ...

    async def reload_rules(self) -> str: ...

    async def status_text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    usage: str
    summary: str
    admin: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "/start", "what this bot does"),
    CommandSpec("help", "/help", "all commands"),
    CommandSpec("rules", "/rules", "the rules, with subscribe buttons"),
    CommandSpec("subscribe", "/subscribe RULE|all [@channel]", "get alerts for a rule"),
    CommandSpec("unsubscribe", "/unsubscribe RULE|all [@channel]", "stop alerts for a rule"),
    CommandSpec("list", "/list [@channel]", "your subscriptions"),
    CommandSpec("mute", "/mute DURATION (e.g. 30m, 2h, 1d)", "pause alerts for a while"),
    CommandSpec("unmute", "/unmute", "resume alerts"),
    CommandSpec(
        "digest", "/digest RULE|all off|hourly|daily HH:MM", "one summary per period instead"
    ),
    CommandSpec("recent", "/recent [RULE]", "the latest matches"),
    CommandSpec("search", "/search WORDS", "search stored articles"),
    CommandSpec("status", "/status", "what the bot is doing"),
    CommandSpec("feeds", "/feeds", "feeds and their health", admin=True),
    CommandSpec("addfeed", "/addfeed URL", "add a feed", admin=True),
    CommandSpec("removefeed", "/removefeed URL", "remove a feed", admin=True),
    CommandSpec("reload", "/reload", "reload the rule files", admin=True),
    CommandSpec("stats", "/stats", "matches per rule, outbox depth", admin=True),
)
_SPEC = {c.name: c for c in COMMANDS}

BOT_COMMANDS: list[BotCommand] = [BotCommand(c.name, c.summary) for c in COMMANDS if not c.admin]
"""For ``bot.set_my_commands(BOT_COMMANDS)``: the menu everyone sees."""

ADMIN_COMMANDS: list[BotCommand] = [BotCommand(c.name, c.summary) for c in COMMANDS]
"""For ``set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))``."""

START_TEXT = (
    "👋 I watch news feeds and send you a message when a story matches one of our rules.\n"
    "Each rule is a topic (a person, a treaty, a place); you pick the rules you care about.\n"
    "Alerts come as stories appear, or as an hourly or daily digest if you prefer.\n"
    "\n"
    "Next: see the rules with /rules, or take them all with /subscribe all. /help lists "
    "everything."
)


class UsageError(Exception):
    """A command was given bad arguments; the message says what was wrong."""


def parse_mute_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1w``, ``1h30m`` -> timedelta; UsageError otherwise."""
    compact = text.replace(" ", "").lower()
    parts = list(_DURATION_PART_RE.finditer(compact))
    if not compact or not parts or "".join(p.group(0) for p in parts) != compact:
        raise UsageError(f"“{text}” is not a duration. Give a number and a unit: 30m, 2h, 1d, 1w.")
    seconds = sum(int(p.group(1)) * _DURATION_UNITS[p.group(2)] for p in parts)
    if seconds <= 0:
        raise UsageError("The duration must be longer than zero.")
    if seconds > MAX_MUTE.total_seconds():
        raise UsageError("That is too long: mute for at most 365 days (or unsubscribe).")
    return timedelta(seconds=seconds)


def parse_digest_schedule(words: Sequence[str]) -> str | None:
    """``off`` -> None (instant), ``hourly`` -> "hourly", ``daily HH:MM`` -> "daily HH:MM"."""
    if not words:
        raise UsageError("Say how often: off, hourly or daily HH:MM.")
    kind = words[0].lower()
    if kind in ("off", "instant") and len(words) == 1:
        return None
    if kind == "hourly" and len(words) == 1:
        return "hourly"
    if kind == "daily":
        if len(words) != 2:
            raise UsageError("A daily digest needs a time, e.g. daily 08:00.")
        m = _TIME_RE.match(words[1])
        if not m:
            raise UsageError(f"“{words[1]}” is not a time of day; use HH:MM, e.g. 08:00.")
        return f"daily {int(m.group(1)):02d}:{m.group(2)}"
    raise UsageError(f"“{' '.join(words)}” is not a schedule: use off, hourly or daily HH:MM.")


def rule_token(rule_id: str) -> str:
    """A rule id short enough for callback data (64 bytes with the prefix and page)."""
    if len(rule_id.encode()) <= 40 and ":" not in rule_id:
        return rule_id
    return "#" + hashlib.sha1(rule_id.encode()).hexdigest()[:12]


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _tag(rule_id: str) -> str:
    return (rule_tags([rule_id]) or [rule_id])[0]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _chunks(lines: Sequence[str], limit: int = MAX_REPLY) -> list[str]:
    """Join lines into messages of at most ``limit`` characters (lines are kept whole)."""
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if current and size + len(line) + 1 > limit:
            pages.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        pages.append("\n".join(current))
    return pages


class _Handlers:
    """The callbacks, sharing the services. One instance per Application."""

    def __init__(self, services: Services, admin_actions: AdminActions | None) -> None:
        self.services = services
        self.admin_actions = admin_actions

    # access ----------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.services.settings

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    def is_allowed(self, user_id: int | None, chat_id: int | None) -> bool:
        allowed: frozenset[int] = self.settings.allowed_ids
        if not allowed:
            return True
        return (
            (user_id is not None and user_id in allowed)
            or (chat_id is not None and chat_id in allowed)
            or self.is_admin(user_id)
        )

    async def gate(self, update: Update) -> bool:
        """True to go on; else the stranger got a polite refusal."""
        user = update.effective_user
        chat = update.effective_chat
        if self.is_allowed(user.id if user else None, chat.id if chat else None):
            return True
        who = user.id if user else "unknown"
        log.info("refused a stranger", extra={"chat": chat.id if chat else None, "user": who})
        text = (
            "Sorry, this is a private bot. If you should have access, ask its operator to add "
            f"your Telegram ID ({who}) to the allowlist."
        )
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
        return False

    async def can_manage(self, context: Context, chat: TgChat, message: Message | None) -> bool:
        """May this sender change ``chat``'s subscriptions? Private: yes; groups: admins."""
        if chat.type == ChatType.PRIVATE:
            return True
        if message is not None and message.sender_chat is not None:
            # An anonymous group admin writes as the group itself.
            return message.sender_chat.id == chat.id
        return False

    async def is_chat_admin(self, context: Context, chat_id: int | str, user_id: int) -> bool:
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except (BadRequest, Forbidden):
            return False
        return member.status in _ADMIN_STATUSES

    async def may_change(self, update: Update, context: Context) -> bool:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return False
        if await self.can_manage(context, chat, update.effective_message):
            return True
        return self.is_admin(user.id) or await self.is_chat_admin(context, chat.id, user.id)

    # replies -----------------------------------------------------------------------------------
    async def reply(
        self,
        update: Update,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        message = update.effective_message
        if message is None:
            return
        pages = _chunks(text.split("\n"))
        for i, page in enumerate(pages):
            await message.reply_text(
                page,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if i == len(pages) - 1 else None,
                link_preview_options=_NO_PREVIEW,
            )

    async def usage(self, update: Update, command: str, problem: str) -> None:
        spec = _SPEC[command]
        await self.reply(update, f"❌ {_esc(problem)}\nUsage: <code>{_esc(spec.usage)}</code>")

    async def remember_chat(self, chat: TgChat) -> None:
        await self.services.storage.upsert_chat(
            Chat(
                id=chat.id,
                type=ChatType.parse(str(chat.type)),
                title=chat.title or chat.username,
                active=True,
            )
        )

    # rules ------------------------------------------------------------------------------------
    def all_rules(self) -> list[RuleInfo]:
        rules: Sequence[RuleInfo] = self.services.rules.current.rules
        return sorted(rules, key=lambda r: r.id)

    def find_rule(self, name: str) -> RuleInfo | None:
        ruleset = self.services.rules.current
        found: RuleInfo | None = ruleset.get(name)
        if found is not None:
            return found
        folded = name.casefold().lstrip("#")
        for rule in self.all_rules():
            if rule.id.casefold() == folded or rule_tags([rule.id]) == [f"#{folded}"]:
                return rule
        return None

    def unknown_rule(self, name: str) -> str:
        ids = [r.id for r in self.all_rules()]
        close = difflib.get_close_matches(name, ids, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return f"There is no rule called “{name}”.{hint} See /rules for the list."

    def rule_by_token(self, token: str) -> RuleInfo | None:
        for rule in self.all_rules():
            if rule_token(rule.id) == token:
                return rule
        return None

    # target chat (channels from a private chat) -------------------------------------------------
    async def resolve_target(
        self, update: Update, context: Context, args: list[str], command: str
    ) -> tuple[int, int | None, str] | None:
        """The chat a command acts on: this one, or a channel/group named as the last argument.

        Returns (chat id, topic id, label) or None after replying why not.
        """
        chat, user, message = update.effective_chat, update.effective_user, update.effective_message
        assert chat is not None
        assert user is not None
        if args and _TARGET_RE.match(args[-1]):
            target = args.pop()
            if chat.type != ChatType.PRIVATE:
                await self.usage(
                    update, command, "Manage a channel from your private chat with me."
                )
                return None
            try:
                target_chat = await context.bot.get_chat(
                    target if target.startswith("@") else int(target)
                )
            except (BadRequest, Forbidden):
                await self.usage(
                    update, command, f"I cannot see {target}. Add me to it as an administrator."
                )
                return None
            if target_chat.type == ChatType.PRIVATE:
                await self.usage(update, command, f"{target} is not a channel or group.")
                return None
            if not (
                self.is_admin(user.id) or await self.is_chat_admin(context, target_chat.id, user.id)
            ):
                await self.reply(update, f"❌ Only administrators of {_esc(target)} can do that.")
                return None
            if target_chat.type == ChatType.CHANNEL and not await self.is_chat_admin(
                context, target_chat.id, context.bot.id
            ):
                await self.reply(
                    update,
                    f"❌ I cannot post in {_esc(target)} yet: add me to it as an administrator "
                    "who may post messages, then try again.",
                )
                return None
            await self.services.storage.upsert_chat(
                Chat(
                    id=target_chat.id,
                    type=ChatType.parse(str(target_chat.type)),
                    title=target_chat.title or target_chat.username,
                )
            )
            return target_chat.id, None, _esc(target_chat.title or target)
        if not await self.may_change(update, context):
            await self.reply(update, "❌ Only this group's administrators can change its alerts.")
            return None
        await self.remember_chat(chat)
        thread = message.message_thread_id if message and message.is_topic_message else None
        return chat.id, thread, "this chat"

    # commands ------------------------------------------------------------------------------------
    async def start(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        if update.effective_chat is not None:
            await self.remember_chat(update.effective_chat)
        await self.reply(update, _esc(START_TEXT))

    async def help(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        user = update.effective_user
        lines = ["<b>Commands</b>"]
        for spec in COMMANDS:
            if not spec.admin:
                lines.append(f"<code>{_esc(spec.usage)}</code> — {_esc(spec.summary)}")
        if self.is_admin(user.id if user else None):
            lines.append("\n<b>Admin</b>")
            for spec in COMMANDS:
                if spec.admin:
                    lines.append(f"<code>{_esc(spec.usage)}</code> — {_esc(spec.summary)}")
        lines.append(
            "\nIn a group, only its administrators change subscriptions; in a forum topic, "
            "alerts go to the topic where you subscribed."
        )
        await self.reply(update, "\n".join(lines))

    async def rules(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        chat = update.effective_chat
        assert chat is not None
        text, markup = await self.rules_page(chat.id, 0)
        await self.reply(update, text, markup)

    async def rules_page(self, chat_id: int, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
        rules = self.all_rules()
        if not rules:
            return "No rules are loaded yet. An administrator adds them in config/rules/.", None
        pages = max(1, -(-len(rules) // RULES_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        subscribed = set(await self.services.storage.subscriptions(chat_id))
        shown = rules[page * RULES_PER_PAGE : (page + 1) * RULES_PER_PAGE]
        lines = [f"<b>Rules</b> ({page + 1}/{pages})"]
        buttons: list[list[InlineKeyboardButton]] = []
        for rule in shown:
            mark = "✅ " if rule.id in subscribed else ""
            tag = rule_tags([rule.id])[0] if rule_tags([rule.id]) else rule.id
            line = f"\n{mark}<b>{_esc(clean_text(rule.name))}</b> {_esc(tag)}"
            if rule.priority is Priority.HIGH:
                line += " ❗"
            if rule.description:
                line += f"\n{_esc(shorten(clean_text(rule.description), 300))}"
            lines.append(line)
            token = rule_token(rule.id)
            label = shorten(clean_text(rule.name), 40)
            if rule.id in subscribed:
                buttons.append(
                    [
                        InlineKeyboardButton(
                            f"➖ Unsubscribe {label}", callback_data=f"u:{token}:{page}"
                        )
                    ]
                )
            else:
                buttons.append(
                    [
                        InlineKeyboardButton(
                            f"➕ Subscribe {label}", callback_data=f"s:{token}:{page}"
                        )
                    ]
                )
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(InlineKeyboardButton("◀ Previous", callback_data=f"p:{page - 1}"))
        if page < pages - 1:
            nav.append(InlineKeyboardButton("Next ▶", callback_data=f"p:{page + 1}"))
        if nav:
            buttons.append(nav)
        return "\n".join(lines), InlineKeyboardMarkup(buttons)

    async def subscribe(self, update: Update, context: Context) -> None:
        await self._change_subscription(update, context, subscribe=True)

    async def unsubscribe(self, update: Update, context: Context) -> None:
        await self._change_subscription(update, context, subscribe=False)

    async def _change_subscription(
        self, update: Update, context: Context, *, subscribe: bool
    ) -> None:
        if not await self.gate(update):
            return
        command = "subscribe" if subscribe else "unsubscribe"
        args = list(context.args or [])
        if not args:
            await self.usage(update, command, "Say which rule (or all). The rules are in /rules.")
            return
        target = await self.resolve_target(update, context, args, command)
        if target is None:
            return
        chat_id, thread_id, label = target
        if len(args) != 1:
            await self.usage(update, command, "Give one rule id (or all), nothing else.")
            return
        storage = self.services.storage
        if args[0].lower() == "all":
            if subscribe:
                ids = [r.id for r in self.all_rules()]
                changed = [r for r in ids if await storage.subscribe(chat_id, r, thread_id)]
            else:
                ids = await storage.subscriptions(chat_id)
                changed = [r for r in ids if await storage.unsubscribe(chat_id, r)]
            verb = "Subscribed" if subscribe else "Unsubscribed"
            if not changed:
                await self.reply(
                    update,
                    f"Nothing to change: {label} was already "
                    f"{'subscribed to every rule' if subscribe else 'without subscriptions'}.",
                )
                return
            tags = " ".join(_esc(t) for t in rule_tags(changed))
            await self.reply(
                update,
                f"✅ {verb} {label} to {len(changed)} rules: {tags}"
                if subscribe
                else f"✅ {verb} {label} from {len(changed)} rules: {tags}",
            )
            return
        rule = self.find_rule(args[0])
        if rule is None:
            if not subscribe and args[0] in await storage.subscriptions(chat_id):
                # The rule was removed from the files; still let people leave it.
                await storage.unsubscribe(chat_id, args[0])
                await self.reply(update, f"✅ Unsubscribed {label} from {_esc(args[0])}.")
                return
            await self.usage(update, command, self.unknown_rule(args[0]))
            return
        name = _esc(clean_text(rule.name))
        if subscribe:
            if await storage.subscribe(chat_id, rule.id, thread_id):
                where = " (alerts go to this topic)" if thread_id is not None else ""
                await self.reply(update, f"✅ Subscribed {label} to <b>{name}</b>{where}.")
            else:
                await self.reply(update, f"{_cap(label)} was already subscribed to <b>{name}</b>.")
        elif await storage.unsubscribe(chat_id, rule.id):
            await self.reply(update, f"✅ Unsubscribed {label} from <b>{name}</b>.")
        else:
            await self.reply(update, f"{_cap(label)} was not subscribed to <b>{name}</b>.")

    async def list(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        args = list(context.args or [])
        chat = update.effective_chat
        assert chat is not None
        chat_id, label = chat.id, "This chat"
        if args:
            target = await self.resolve_target(update, context, args, "list")
            if target is None:
                return
            if args:
                await self.usage(update, "list", "/list takes no rule, only an optional @channel.")
                return
            chat_id, _, label = target
        subs = await self.services.storage.subscription_details(chat_id)
        if not subs:
            await self.reply(
                update,
                f"{_cap(label)} has no subscriptions yet. Pick rules with /rules or "
                "take them all with /subscribe all.",
            )
            return
        tz = self.settings.tz
        lines = [f"<b>Subscriptions</b> ({len(subs)})"]
        for sub in subs:
            rule = self.services.rules.current.get(sub.rule_id)
            name = f" — {_esc(clean_text(rule.name))}" if rule else " — (rule removed)"
            tag = _esc((rule_tags([sub.rule_id]) or [sub.rule_id])[0])
            mode = (
                f"digest, {sub.digest_schedule}"
                if sub.mode == DeliveryMode.DIGEST and sub.digest_schedule
                else "instant"
            )
            topic = f", topic {sub.thread_id}" if sub.thread_id is not None else ""
            lines.append(f"{tag}{name} · {mode}{topic}")
        muted = subs[0].muted_until
        if muted is not None and muted > self.services.clock.now():
            lines.append(
                f"\n🔕 Muted until {muted.astimezone(tz).strftime('%d %b %Y %H:%M %Z')} (/unmute)"
            )
        await self.reply(update, "\n".join(lines))

    async def mute(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        args = list(context.args or [])
        if not args:
            await self.usage(update, "mute", "Say for how long, e.g. /mute 2h.")
            return
        target = await self.resolve_target(update, context, args, "mute")
        if target is None:
            return
        try:
            duration = parse_mute_duration(" ".join(args))
        except UsageError as e:
            await self.usage(update, "mute", str(e))
            return
        chat_id, _, label = target
        until = self.services.clock.now() + duration
        await self.services.storage.mute_chat(chat_id, until)
        local = until.astimezone(self.settings.tz).strftime("%d %b %Y %H:%M %Z")
        await self.reply(
            update,
            f"🔕 Muted {label} until {local}. Matches meanwhile are kept (see /recent). "
            "/unmute to resume.",
        )

    async def unmute(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        args = list(context.args or [])
        target = await self.resolve_target(update, context, args, "unmute")
        if target is None:
            return
        if args:
            await self.usage(update, "unmute", "/unmute takes no arguments.")
            return
        chat_id, _, label = target
        await self.services.storage.mute_chat(chat_id, None)
        await self.reply(update, f"🔔 Alerts for {label} are on again.")

    async def digest(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        args = list(context.args or [])
        target = await self.resolve_target(update, context, args, "digest") if args else None
        if target is None:
            if not args:
                await self.usage(update, "digest", "Say which rule and how often.")
            return
        if len(args) < 2:
            await self.usage(update, "digest", "Say which rule (or all) and how often.")
            return
        try:
            schedule = parse_digest_schedule(args[1:])
        except UsageError as e:
            await self.usage(update, "digest", str(e))
            return
        chat_id, _, label = target
        storage = self.services.storage
        mode = DeliveryMode.INSTANT if schedule is None else DeliveryMode.DIGEST
        if args[0].lower() == "all":
            rule_ids = await storage.subscriptions(chat_id)
            if not rule_ids:
                await self.reply(update, f"{_cap(label)} has no subscriptions yet (/rules).")
                return
        else:
            rule = self.find_rule(args[0])
            if rule is None:
                await self.usage(update, "digest", self.unknown_rule(args[0]))
                return
            rule_ids = [rule.id]
        now = self.services.clock.now()  # the first digest period starts here
        changed = [
            r
            for r in rule_ids
            if await storage.set_subscription_mode(chat_id, r, mode, schedule, now=now)
        ]
        if not changed:
            await self.reply(
                update,
                f"❌ {_cap(label)} is not subscribed to {_esc(args[0])}. "
                f"Subscribe first: <code>/subscribe {_esc(args[0])}</code>",
            )
            return
        tags = " ".join(_esc(t) for t in rule_tags(changed))
        if schedule is None:
            await self.reply(update, f"⚡ {tags}: alerts arrive as stories appear.")
        else:
            when = "every hour" if schedule == "hourly" else f"every day at {schedule[6:]}"
            await self.reply(
                update,
                f"🗞 {tags}: one digest {when} ({_esc(self.settings.timezone)}), "
                "nothing when there is nothing.",
            )

    async def recent(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        args = list(context.args or [])
        chat = update.effective_chat
        assert chat is not None
        if len(args) > 1:
            await self.usage(update, "recent", "Give at most one rule.")
            return
        storage = self.services.storage
        if args:
            rule = self.find_rule(args[0])
            if rule is None:
                await self.usage(update, "recent", self.unknown_rule(args[0]))
                return
            found = await storage.recent_matches(rule_id=rule.id, limit=10)
            heading = f"Latest matches for {_esc(rule_tags([rule.id])[0])}"
        else:
            if not await storage.subscriptions(chat.id):
                await self.reply(
                    update,
                    "This chat has no subscriptions, so there is nothing recent for it. Try "
                    "<code>/recent RULE</code> or /rules.",
                )
                return
            found = await storage.recent_matches(chat_id=chat.id, limit=10)
            heading = "Latest matches for your rules"
        if not found:
            await self.reply(update, f"{heading}: none yet.")
            return
        tz = self.settings.tz
        lines = [f"<b>{heading}</b>"]
        for m in found:
            when = (m.published_at or m.matched_at).astimezone(tz).strftime("%d %b %H:%M")
            lines.append(f"• {_link(m.title, m.link)} — {_esc(_tag(m.rule_id))} · {when}")
        await self.reply(update, "\n".join(lines))

    async def search(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        query = " ".join(context.args or []).strip()
        if len(query.replace(" ", "")) < 2:
            await self.usage(update, "search", "Give at least one word to look for.")
            return
        if len(query) > 200:
            await self.usage(update, "search", "That is too long; use a few words.")
            return
        found = await self.services.storage.search_articles(query, limit=10)
        if not found:
            await self.reply(update, f"No stored article contains “{_esc(query)}”.")
            return
        tz = self.settings.tz
        lines = [f"<b>Articles with “{_esc(query)}”</b>"]
        for a in found:
            when = a.published_at.astimezone(tz).strftime("%d %b %Y") if a.published_at else ""
            lines.append(f"• {_link(a.title, a.link)}" + (f" · {when}" if when else ""))
            if a.snippet.strip():
                lines.append(f"  <i>{_esc(shorten(clean_text(a.snippet), 200))}</i>")
        await self.reply(update, "\n".join(lines))

    async def status(self, update: Update, context: Context) -> None:
        if not await self.gate(update):
            return
        chat = update.effective_chat
        assert chat is not None
        storage = self.services.storage
        feeds = await storage.list_feeds()
        active = [f for f in feeds if f.enabled and not f.disabled_reason]
        rules = self.all_rules()
        subs = await storage.subscription_details(chat.id)
        waiting = await storage.pending_count(chat.id)
        lines = [
            f"👀 Watching {_n(len(active), 'feed')} with {_n(len(rules), 'rule')}.",
            f"This chat: {_n(len(subs), 'subscription')}, {_n(waiting, 'alert')} waiting to be "
            "sent.",
        ]
        if subs and subs[0].muted_until and subs[0].muted_until > self.services.clock.now():
            local = subs[0].muted_until.astimezone(self.settings.tz).strftime("%d %b %H:%M %Z")
            lines.append(f"🔕 Muted until {local}.")
        user = update.effective_user
        if self.is_admin(user.id if user else None) and self.admin_actions is not None:
            lines.append("")
            lines.append(_esc(await self.admin_actions.status_text()))
        await self.reply(update, "\n".join(lines))

    # admin -----------------------------------------------------------------------------------
    async def admin_gate(self, update: Update) -> bool:
        if not await self.gate(update):
            return False
        user = update.effective_user
        if not self.is_admin(user.id if user else None):
            await self.reply(update, "❌ That command is for the bot's administrators.")
            return False
        return True

    async def feeds(self, update: Update, context: Context) -> None:
        if not await self.admin_gate(update):
            return
        feeds = await self.services.storage.list_feeds()
        if not feeds:
            await self.reply(update, "No feeds configured. Add one with <code>/addfeed URL</code>.")
            return
        lines = [f"<b>Feeds</b> ({len(feeds)})"]
        for feed in feeds:
            lines.append(_feed_line(feed, self.settings.tz))
        await self.reply(update, "\n".join(lines))

    async def _admin_action(
        self, update: Update, command: str, action: Callable[[], Awaitable[str]]
    ) -> None:
        try:
            result = await action()
        except NewswatchError as e:
            await self.reply(update, f"❌ {_esc(str(e))}")
            return
        await self.reply(update, _esc(result))

    async def addfeed(self, update: Update, context: Context) -> None:
        await self._feed_command(update, context, "addfeed")

    async def removefeed(self, update: Update, context: Context) -> None:
        await self._feed_command(update, context, "removefeed")

    async def _feed_command(self, update: Update, context: Context, command: str) -> None:
        if not await self.admin_gate(update):
            return
        args = list(context.args or [])
        if len(args) != 1 or not re.match(r"^https?://[^\s/]+", args[0]):
            await self.usage(update, command, "Give one feed address starting with http(s)://.")
            return
        actions = self.admin_actions
        if actions is None:
            await self.reply(update, "❌ Feed management is not available in this setup.")
            return
        url = args[0]
        if command == "addfeed":
            await self._admin_action(update, command, lambda: actions.add_feed(url))
        else:
            await self._admin_action(update, command, lambda: actions.remove_feed(url))

    async def reload(self, update: Update, context: Context) -> None:
        if not await self.admin_gate(update):
            return
        actions = self.admin_actions
        if actions is None:
            await self.reply(update, "❌ Reloading is not available in this setup.")
            return
        await self._admin_action(update, "reload", actions.reload_rules)

    async def stats(self, update: Update, context: Context) -> None:
        if not await self.admin_gate(update):
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
            lines.append(f"{_esc(_tag(rule_id))}: {week_n} ({today_n})")
        lines.append(f"\nOutbox: {await storage.pending_count()} alerts waiting.")
        if self.admin_actions is not None:
            lines.append(_esc(await self.admin_actions.status_text()))
        await self.reply(update, "\n".join(lines))

    # buttons ---------------------------------------------------------------------------------
    async def button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        if not await self.gate(update):
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
        if kind not in ("s", "u"):
            await query.answer("This button is no longer supported; send /rules again.")
            return
        token, _, page_text = rest.rpartition(":")
        page = int(page_text) if page_text.isdigit() else 0
        user = update.effective_user
        allowed = chat.type == ChatType.PRIVATE or (
            user is not None
            and (self.is_admin(user.id) or await self.is_chat_admin(context, chat.id, user.id))
        )
        if not allowed:
            await query.answer(
                "Only this group's administrators can change its alerts.", show_alert=True
            )
            return
        rule = self.rule_by_token(token)
        if rule is None:
            await self._show_page(query, chat.id, page)
            await query.answer("That rule no longer exists.", show_alert=True)
            return
        await self.remember_chat(chat)
        storage = self.services.storage
        name = shorten(clean_text(rule.name), 60)
        if kind == "s":
            thread = message.message_thread_id if message.is_topic_message else None
            changed = await storage.subscribe(chat.id, rule.id, thread)
            note = f"Subscribed to {name}" if changed else f"Already subscribed to {name}"
        else:
            changed = await storage.unsubscribe(chat.id, rule.id)
            note = f"Unsubscribed from {name}" if changed else f"Not subscribed to {name}"
        # Redraw first, then answer: the answer ends the button's spinner.
        await self._show_page(query, chat.id, page)
        await query.answer(note)

    async def _show_page(self, query: CallbackQuery, chat_id: int, page: int) -> None:
        text, markup = await self.rules_page(chat_id, page)
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as e:
            if "not modified" not in e.message.lower():
                raise

    # chat membership ---------------------------------------------------------------------------
    async def my_chat_member(self, update: Update, context: Context) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat = change.chat
        status = change.new_chat_member.status
        storage = self.services.storage
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            log.info("bot removed or blocked; pausing the chat", extra={"chat": chat.id})
            await storage.set_chat_active(chat.id, False)
        else:
            log.info("bot (re)joined or unblocked; resuming the chat", extra={"chat": chat.id})
            await self.remember_chat(chat)
            await storage.set_chat_active(chat.id, True)

    async def migrated(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or message.migrate_to_chat_id is None:
            return
        log.info(
            "group migrated to %s", message.migrate_to_chat_id, extra={"chat": message.chat_id}
        )
        await self.services.storage.migrate_chat(message.chat_id, message.migrate_to_chat_id)

    async def unknown(self, update: Update, context: Context) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or not message.text:
            return
        word = message.text.split()[0]
        addressed = word.lower().endswith(f"@{context.bot.username}".lower())
        if chat.type != ChatType.PRIVATE and not addressed:
            return  # another bot's command, or one not meant for us
        if not await self.gate(update):
            return
        await self.reply(update, f"❌ I don't know {_esc(word)}. /help lists what I can do.")

    async def on_error(self, update: object, context: Context) -> None:
        error = context.error
        log.error("handler failed: %r", error, exc_info=error)
        if not isinstance(update, Update) or update.effective_message is None:
            return
        text = (
            "⚠️ The database is unavailable right now; please try again in a minute."
            if isinstance(error, NewswatchError)
            else "⚠️ Something went wrong on my side; it has been logged."
        )
        try:
            await update.effective_message.reply_text(text)
        except TelegramError:
            log.warning("could not report the error to the chat")


def _link(title: str, url: str | None) -> str:
    text = _esc(shorten(clean_text(title), 160) or "(untitled)")
    link = safe_link(url)
    return f'<a href="{html.escape(link)}">{text}</a>' if link else text


def _feed_line(feed: FeedState, tz: ZoneInfo) -> str:
    name = _esc(clean_text(feed.name or feed.title or feed.url))
    url = _esc(feed.url)
    if feed.disabled_reason or not feed.enabled:
        return f"⛔ <b>{name}</b> — {url}\n   disabled: {_esc(feed.disabled_reason or 'in config')}"
    if feed.consecutive_errors:
        error = _esc(shorten(feed.last_error or "error", 200))
        return f"⚠️ <b>{name}</b> — {url}\n   {feed.consecutive_errors} errors in a row: {error}"
    last = (
        feed.last_success_at.astimezone(tz).strftime("%d %b %H:%M")
        if feed.last_success_at
        else "not yet"
    )
    return f"✅ <b>{name}</b> — {url}\n   last fetched {last}, {feed.items_seen} items seen"


def register_handlers(
    application: AnyApplication,
    services: Services,
    admin_actions: AdminActions | None = None,
) -> None:
    """Add every command, button, membership and error handler to ``application``.

    Call before ``application.initialize()``; then ``bot.set_my_commands(BOT_COMMANDS)``.
    Without ``admin_actions`` the feed and reload commands answer that they are unavailable.
    """
    h = _Handlers(services, admin_actions)
    only_new = filters.UpdateType.MESSAGE  # an edited "/subscribe" must not run twice
    callbacks: dict[str, Callable[[Update, Context], Coroutine[Any, Any, None]]] = {
        "start": h.start,
        "help": h.help,
        "rules": h.rules,
        "subscribe": h.subscribe,
        "unsubscribe": h.unsubscribe,
        "list": h.list,
        "mute": h.mute,
        "unmute": h.unmute,
        "digest": h.digest,
        "recent": h.recent,
        "search": h.search,
        "status": h.status,
        "feeds": h.feeds,
        "addfeed": h.addfeed,
        "removefeed": h.removefeed,
        "reload": h.reload,
        "stats": h.stats,
    }
    for name, callback in callbacks.items():
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    application.add_handler(CallbackQueryHandler(h.button))
    application.add_handler(ChatMemberHandler(h.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, h.migrated))
    application.add_handler(MessageHandler(filters.COMMAND & only_new, h.unknown))
    application.add_error_handler(h.on_error)
