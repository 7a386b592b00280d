"""The command table and the commands about the bot itself.

``COMMANDS`` lists every command; its usage and summary, in English and Vietnamese, are in the
catalogue (``bot.i18n.command_messages``). It feeds ``BOT_COMMANDS`` and ``ADMIN_COMMANDS``
(``set_menus`` and ``set_admin_menus`` register them in every language with
``set_my_commands``), ``/help`` and ``usage`` (the "what was wrong and the right usage"
answer every feature gives to a bad command, in the chat's language). ``GeneralCommands`` answers
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
from bot.telegram.handlers.access import Context, chat_language, gate, is_admin
from bot.telegram.handlers.membership import remember_chat
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc
from core.models import ChatType, Language

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its name, and whether only the bot's administrators see it. Its usage
    line and menu summary are the catalogue's ``help.usage.<name>`` / ``help.summary.<name>``
    (``bot.i18n.command_messages``)."""

    name: str
    admin: bool = False

    def usage_in(self, lang: Language | None) -> str:
        return text(lang, f"help.usage.{self.name}")

    def summary_in(self, lang: Language | None) -> str:
        return text(lang, f"help.summary.{self.name}")

    @property
    def usage(self) -> str:
        """The English usage line."""
        return self.usage_in(None)

    @property
    def summary(self) -> str:
        """The English menu summary."""
        return self.summary_in(None)


_USER_COMMANDS = (
    "start help rules subscribe unsubscribe list mute unmute digest recent search watch myrules "
    "feedback export settings trend status web stories"
)
_ADMIN_COMMANDS = "feeds addfeed removefeed reload stats promote split"
COMMANDS: tuple[CommandSpec, ...] = tuple(
    [CommandSpec(name) for name in _USER_COMMANDS.split()]
    + [CommandSpec(name, admin=True) for name in _ADMIN_COMMANDS.split()]
)
_SPEC = {c.name: c for c in COMMANDS}

MENU_LANGUAGES: dict[Language, str] = {Language.VI: "vi"}
"""The menus registered besides the English default, with their ``language_code`` (Telegram
shows a user the menu of their app's language)."""


def command_menu(lang: Language | None = None, *, admin: bool = False) -> list[BotCommand]:
    """The command menu in ``lang``: everyone's commands, and with ``admin`` the admin ones."""
    return [BotCommand(c.name, c.summary_in(lang)) for c in COMMANDS if admin or not c.admin]


BOT_COMMANDS: list[BotCommand] = command_menu()
"""For ``bot.set_my_commands(BOT_COMMANDS)``: the menu everyone sees (``set_menus`` also
registers it in Vietnamese)."""

ADMIN_COMMANDS: list[BotCommand] = command_menu(admin=True)
"""For ``set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))``."""


async def set_menus(bot: Bot) -> None:
    """Register everyone's command menu: English by default, and each ``MENU_LANGUAGES``
    translation under its ``language_code``."""
    await bot.set_my_commands(BOT_COMMANDS)
    for lang, code in MENU_LANGUAGES.items():
        await bot.set_my_commands(command_menu(lang), language_code=code)


async def set_admin_menus(bot: Bot, admin_ids: Iterable[int]) -> int:
    """Give each administrator's private chat the menu with the admin commands too (a
    per-chat scope: other people keep the short menu), in English and each ``MENU_LANGUAGES``
    translation. An admin who has not started the bot yet has no chat to scope to: logged,
    and set at the next start. Returns how many were set."""
    done = 0
    for admin_id in sorted(admin_ids):
        scope = BotCommandScopeChat(admin_id)
        try:
            await bot.set_my_commands(ADMIN_COMMANDS, scope=scope)
            for lang, code in MENU_LANGUAGES.items():
                await bot.set_my_commands(
                    command_menu(lang, admin=True), scope=scope, language_code=code
                )
        except BadRequest as e:
            log.info("admin menu not set for %s (%s): they have not started the bot", admin_id, e)
            continue
        done += 1
    return done


START_TEXT = text(None, "start")  # the catalogue's English (bot.i18n)


FREE_TEXT_HINT = text(None, "free_text.hint")


async def usage(
    out: ReplySender, update: Update, command: str, problem: str, lang: Language | None = None
) -> None:
    """Answer a bad ``command`` with what was wrong (``problem``, plain text, already in
    ``lang``) and its usage line in ``lang`` (the chat's language; English without)."""
    spec = _SPEC[command]
    line = text(lang, "usage.line", problem=esc(problem), usage=esc(spec.usage_in(lang)))
    await reply(out, update, line)


def _command_line(spec: CommandSpec, lang: Language | None) -> str:
    return f"<code>{esc(spec.usage_in(lang))}</code> — {esc(spec.summary_in(lang))}"


class GeneralCommands:
    """``/start``, ``/help`` and unknown commands."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def start(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        chat, user = update.effective_chat, update.effective_user
        if chat is not None:
            await remember_chat(self.services.storage, chat)
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
        lang = chat_language(self.services, update)
        if not await gate(settings, self.out, update, lang):
            return
        user = update.effective_user
        lines = [text(lang, "help.title")]
        lines.extend(_command_line(spec, lang) for spec in COMMANDS if not spec.admin)
        if is_admin(settings, user.id if user else None):
            lines.append("\n" + text(lang, "help.admin"))
            lines.extend(_command_line(spec, lang) for spec in COMMANDS if spec.admin)
        lines.append("\n" + esc(text(lang, "help.groups")))
        await reply(self.out, update, "\n".join(lines))

    async def free_text(self, update: Update, context: Context) -> None:
        """Text that is not a command, in a private chat: a short hint, not silence."""
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        await reply(self.out, update, esc(text(lang, "free_text.hint")))

    async def unknown(self, update: Update, context: Context) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or not message.text:
            return
        word = message.text.split()[0]
        addressed = word.lower().endswith(f"@{context.bot.username}".lower())
        if chat.type != ChatType.PRIVATE and not addressed:
            return  # another bot's command, or one not meant for us
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        await reply(self.out, update, text(lang, "unknown", word=esc(word)))
