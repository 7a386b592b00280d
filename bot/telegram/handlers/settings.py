"""``/settings``: this chat's choices, on one screen with buttons. Time zone (a few buttons, or
``/settings tz Area/City`` for any IANA zone), link previews in alerts, the snippet's length,
the language of the bot's messages (English, Vietnamese: ``bot.i18n``), digest days (every day
or Monday to Friday).

Buttons are ``st:KEY:VALUE`` (at most ~30 bytes; built and parsed with ``keyboards``). A
change is stored (``Storage.save_chat_settings``) and put in ``Services.chat_prefs`` at once,
which the alert sink, the digest scheduler and the handlers read. In a group only its
administrators change them (as subscriptions); anyone may look. Does not send alerts or
digests itself.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardMarkup, Update

from bot.delivery.replies import ReplySender
from bot.i18n import LANGUAGE_NAMES, text
from bot.services import Services
from bot.telegram.handlers.access import Context, chat_language, gate, may_change, may_press
from bot.telegram.handlers.keyboards import button, checked, pressed, unsupported
from bot.telegram.handlers.membership import remember_chat
from bot.telegram.handlers.replies import redraw, reply
from bot.telegram.handlers.text import esc
from core.models import ChatSettings, Language, SnippetLength

ZONE_BUTTONS = ("UTC", "Asia/Ho_Chi_Minh", "Asia/Singapore", "Europe/London", "America/New_York")
WEEKDAYS = (0, 1, 2, 3, 4)


def settings_page(services: Services, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """The settings screen of ``chat_id`` in its language, with its buttons."""
    chosen = services.chat_prefs.get(chat_id)
    lang = chosen.language
    zone = chosen.timezone or services.settings.timezone
    preview = bool(chosen.link_preview)
    snippet = chosen.snippet or SnippetLength.NORMAL
    days = "days.weekdays" if chosen.digest_days == WEEKDAYS else "days.all"
    lines = [
        text(lang, "settings.title"),
        text(lang, "settings.timezone", tz=esc(zone)),
        text(lang, "settings.preview", state=text(lang, "on" if preview else "off")),
        text(lang, "settings.snippet", length=text(lang, f"snippet.{snippet.value}")),
        text(lang, "settings.language"),
        text(lang, "settings.digest_days", days=text(lang, days)),
        "",
        text(lang, "settings.hint"),
    ]
    rows = [
        [
            button(checked(z.split("/")[-1].replace("_", " "), z == zone), "st", "tz", z)
            for z in ZONE_BUTTONS
        ],
        [
            button(
                text(lang, "button.preview_off" if preview else "button.preview_on"),
                "st",
                "lp",
                0 if preview else 1,
            )
        ],
        [
            button(checked(text(lang, f"snippet.{s.value}"), s is snippet), "st", "sn", s.value)
            for s in SnippetLength
        ],
        [
            button(checked(name, (lang or Language.EN) is language), "st", "lg", language.value)
            for language, name in LANGUAGE_NAMES.items()
        ],
        [
            button(checked(text(lang, "days.all"), days == "days.all"), "st", "dd", "all"),
            button(checked(text(lang, "days.weekdays"), days == "days.weekdays"), "st", "dd", "wk"),
        ],
        [button(text(lang, "button.defaults"), "st", "reset", "")],
    ]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def changed(chosen: ChatSettings, key: str, value: str) -> ChatSettings | None:
    """``chosen`` with the button ``st:KEY:VALUE`` applied; None for a button that makes no
    sense (an old or forged one)."""
    if key == "tz":
        return replace(chosen, timezone=value) if value in ZONE_BUTTONS else None
    if key == "lp" and value in ("0", "1"):
        return replace(chosen, link_preview=value == "1" or None)
    if key == "sn" and value in {s.value for s in SnippetLength}:
        snippet = SnippetLength(value)
        return replace(chosen, snippet=None if snippet is SnippetLength.NORMAL else snippet)
    if key == "lg" and value in {lang.value for lang in Language}:
        language = Language(value)
        return replace(chosen, language=None if language is Language.EN else language)
    if key == "dd" and value in ("all", "wk"):
        return replace(chosen, digest_days=WEEKDAYS if value == "wk" else None)
    if key == "reset":
        return ChatSettings()
    return None


class SettingsCommands:
    """``/settings`` and its buttons."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def settings(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        chat = update.effective_chat
        assert chat is not None
        args = list(context.args or [])
        if args:
            if len(args) != 2 or args[0].lower() not in ("tz", "timezone"):
                await reply(self.out, update, text(lang, "settings.usage"))
                return
            if not await may_change(self.services.settings, update, context):
                await reply(self.out, update, f"❌ {text(lang, 'settings.admins_only')}")
                return
            try:
                ZoneInfo(args[1])
            except (ZoneInfoNotFoundError, ValueError):
                await reply(self.out, update, text(lang, "settings.bad_tz", name=esc(args[1])))
                return
            await remember_chat(self.services.storage, chat)
            await self._save(
                chat.id, replace(self.services.chat_prefs.get(chat.id), timezone=args[1])
            )
        page, markup = settings_page(self.services, chat.id)
        await reply(self.out, update, page, markup)

    async def button(self, update: Update, context: Context) -> None:
        press = await pressed(self.services, self.out, update, "/settings")
        if press is None:
            return
        query, chat, lang = press.query, press.chat, press.lang
        if not await may_press(self.services.settings, update, context, chat):
            await query.answer(text(lang, "settings.admins_only"), show_alert=True)
            return
        key, value = press.fields
        new = changed(self.services.chat_prefs.get(chat.id), key, value)
        if new is None:
            await unsupported(press, "/settings")
            return
        await remember_chat(self.services.storage, chat)
        await self._save(chat.id, new)
        page, markup = settings_page(self.services, chat.id)
        await redraw(self.out, query, page, markup)
        note = "settings.reset" if key == "reset" else "settings.saved"
        await query.answer(text(new.language, note))

    async def _save(self, chat_id: int, chosen: ChatSettings) -> None:
        await self.services.storage.save_chat_settings(chat_id, chosen, self.services.clock.now())
        self.services.chat_prefs.put(chat_id, chosen)
