"""The command table and the commands about the bot itself.

``COMMANDS`` lists every command with its usage and summary: it feeds ``BOT_COMMANDS`` and
``ADMIN_COMMANDS`` (for ``set_my_commands``), ``/help`` and ``usage`` (the "what was wrong and
the right usage" answer every feature gives to a bad command). ``GeneralCommands`` answers
``/start``, ``/help`` and commands the bot does not know. The other commands live in their
feature's module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, is_admin
from bot.telegram.handlers.membership import remember_chat
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc
from core.models import ChatType

log = logging.getLogger(__name__)


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
    CommandSpec(
        "mute", "/mute DURATION (e.g. 30m, 2h, 1d)", "pause alerts; /mute RULE 2h|off: one rule"
    ),
    CommandSpec("unmute", "/unmute [RULE]", "resume alerts (one rule: with a catch-up)"),
    CommandSpec(
        "digest", "/digest RULE|all off|hourly|daily HH:MM", "one summary per period instead"
    ),
    CommandSpec("recent", "/recent [RULE]", "the latest matches"),
    CommandSpec(
        "search", '/search QUERY (e.g. "strategic partnership" AND Rubio)', "search stored stories"
    ),
    CommandSpec("watch", "/watch QUERY", "preview a query, then save it as your rule"),
    CommandSpec(
        "myrules", "/myrules [edit N QUERY | pause N | resume N | delete N]", "your own rules"
    ),
    CommandSpec("feedback", "/feedback", "stories marked not relevant for your rules"),
    CommandSpec("export", "/export [csv|jsonl] [DAYS]", "this chat's matches as a file"),
    CommandSpec("settings", "/settings [tz Area/City]", "time zone, previews, language…"),
    CommandSpec("trend", "/trend RULE [7|30|90] | RULE on|off", "a rule's trend, spike alerts"),
    CommandSpec("status", "/status", "what the bot is doing"),
    CommandSpec("web", "/web", "a one-time login link to the web console"),
    CommandSpec("stories", "/stories [together|separate]", "one alert per story, or per article"),
    CommandSpec("feeds", "/feeds [export]", "feeds and their health (export: OPML)", admin=True),
    CommandSpec("addfeed", "/addfeed URL", "add a feed", admin=True),
    CommandSpec("removefeed", "/removefeed URL", "remove a feed", admin=True),
    CommandSpec("reload", "/reload", "reload the rule files", admin=True),
    CommandSpec("stats", "/stats", "matches per rule, outbox depth", admin=True),
    CommandSpec(
        "promote", "/promote [PERSONAL-ID NEW-ID]", "make a personal rule a file rule", admin=True
    ),
    CommandSpec("split", "/split ARTICLE_ID", "move an article out of its story", admin=True),
)
_SPEC = {c.name: c for c in COMMANDS}

BOT_COMMANDS: list[BotCommand] = [BotCommand(c.name, c.summary) for c in COMMANDS if not c.admin]
"""For ``bot.set_my_commands(BOT_COMMANDS)``: the menu everyone sees."""

ADMIN_COMMANDS: list[BotCommand] = [BotCommand(c.name, c.summary) for c in COMMANDS]
"""For ``set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))``."""


async def set_admin_menus(bot: Bot, admin_ids: Iterable[int]) -> int:
    """Give each administrator's private chat the menu with the admin commands too (a
    per-chat scope: other people keep the short menu). An admin who has not started the bot
    yet has no chat to scope to: logged, and set at the next start. Returns how many were set."""
    done = 0
    for admin_id in sorted(admin_ids):
        try:
            await bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))
        except BadRequest as e:
            log.info("admin menu not set for %s (%s): they have not started the bot", admin_id, e)
            continue
        done += 1
    return done


START_TEXT = text(None, "start")  # the catalogue's English (bot.i18n)


FREE_TEXT_HINT = (
    "I answer commands rather than messages. To look through stored stories, send "
    "/search WORDS; to get alerts, pick rules with /rules. /help lists everything."
)


async def usage(out: ReplySender, update: Update, command: str, problem: str) -> None:
    """Answer a bad ``command`` with what was wrong (``problem``, plain text) and its usage."""
    spec = _SPEC[command]
    await reply(out, update, f"❌ {esc(problem)}\nUsage: <code>{esc(spec.usage)}</code>")


def _command_line(spec: CommandSpec) -> str:
    return f"<code>{esc(spec.usage)}</code> — {esc(spec.summary)}"


class GeneralCommands:
    """``/start``, ``/help`` and unknown commands."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def start(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        chat, user = update.effective_chat, update.effective_user
        if chat is not None:
            await remember_chat(self.services.storage, chat)
        lang = self.services.chat_prefs.get(chat.id).language if chat is not None else None
        await reply(self.out, update, esc(text(lang, "start")))
        if (
            chat is not None
            and chat.type == ChatType.PRIVATE
            and user is not None
            and is_admin(self.services.settings, user.id)
        ):
            # An admin who starts the bot after it started gets the admin menu now.
            await set_admin_menus(context.bot, [user.id])

    async def help(self, update: Update, context: Context) -> None:
        settings = self.services.settings
        if not await gate(settings, self.out, update):
            return
        user = update.effective_user
        lines = ["<b>Commands</b>"]
        lines.extend(_command_line(spec) for spec in COMMANDS if not spec.admin)
        if is_admin(settings, user.id if user else None):
            lines.append("\n<b>Admin</b>")
            lines.extend(_command_line(spec) for spec in COMMANDS if spec.admin)
        lines.append(
            "\nIn a group, only its administrators change subscriptions; in a forum topic, "
            "alerts go to the topic where you subscribed."
        )
        await reply(self.out, update, "\n".join(lines))

    async def free_text(self, update: Update, context: Context) -> None:
        """Text that is not a command, in a private chat: a short hint, not silence."""
        if not await gate(self.services.settings, self.out, update):
            return
        await reply(self.out, update, esc(FREE_TEXT_HINT))

    async def unknown(self, update: Update, context: Context) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or not message.text:
            return
        word = message.text.split()[0]
        addressed = word.lower().endswith(f"@{context.bot.username}".lower())
        if chat.type != ChatType.PRIVATE and not addressed:
            return  # another bot's command, or one not meant for us
        if not await gate(self.services.settings, self.out, update):
            return
        lang = self.services.chat_prefs.get(chat.id).language
        await reply(self.out, update, text(lang, "unknown", word=esc(word)))
