"""Rules from the chat: ``/watch QUERY`` (a preview, then save, refine or cancel), ``/myrules``
(list, edit, pause, resume, delete) and, for the bot's administrators, ``/promote`` (a personal
rule becomes a rule-file rule).

Buttons: ``w:s:N`` save, ``w:r:N`` refine and ``w:c:N`` cancel the previewed query number N
(``w:f:N`` saves from a /search page, which stays as it is)
(queries are remembered by number in ``RecentSearches``, as /search's pages are, so the data
fits in 64 bytes); ``mr:p:N`` / ``mr:r:N`` / ``mr:d:N`` pause, resume and delete rule N of the
chat the list is in, then redraw the list. The personal-rule logic itself (validation, the
limit, subscribing the owner, putting the rule in force) is ``bot.personal_rules``'s; this
module only talks. In a group anyone allowed may preview; saving and changing the group's rules
takes a group administrator, as subscribing does.
"""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.delivery.replies import ReplySender
from bot.i18n import text as tr
from bot.i18n.admin_messages import counted
from bot.personal_rules import (
    LimitReached,
    PersonalRules,
    RuleIdTaken,
    preview,
)
from bot.search import MAX_QUERY_CHARS, QueryProblem
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, may_change, may_press
from bot.telegram.handlers.admin_text import (
    admins_only,
    language_of,
    update_language,
    usage_in,
)
from bot.telegram.handlers.browse import RecentSearches, found_lines, query_problem_html
from bot.telegram.handlers.keyboards import pressed, unsupported
from bot.telegram.handlers.membership import remember_chat
from bot.telegram.handlers.replies import redraw, reply, send_to
from bot.telegram.handlers.text import esc
from core.errors import ConfigError
from core.models import Language
from storage.base import PersonalRule


def preview_html(
    text: str, total: int, scanned: int, days: int, language: Language | None = None
) -> str:
    return tr(
        language,
        "watch.preview",
        query=esc(text),
        total=counted(language, total, "story"),
        days=days,
        scanned=counted(language, scanned, "story"),
    )


def rules_list(
    rules: list[PersonalRule], limit: int, language: Language | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The chat's personal rules, numbered, each with its id (those a migration brought along
    keep the old chat's in theirs), pause/resume and delete buttons per rule, in
    ``language``."""
    if not rules:
        return tr(language, "myrules.none"), None
    lines = [tr(language, "myrules.title", count=len(rules), limit=limit)]
    rows: list[list[InlineKeyboardButton]] = []
    for rule in rules:
        number = rule.number
        state = tr(language, "myrules.paused") if rule.paused else ""
        lines.append(
            f"\n{number}. <b>{esc(rule.name)}</b> · "
            f"<code>{rule.rule_id}</code>{state}\n"
            f"<code>{esc(rule.query)}</code>"
        )
        toggle = (
            InlineKeyboardButton(
                tr(language, "myrules.button.resume", number=number),
                callback_data=f"mr:r:{number}",
            )
            if rule.paused
            else InlineKeyboardButton(
                tr(language, "myrules.button.pause", number=number),
                callback_data=f"mr:p:{number}",
            )
        )
        delete = InlineKeyboardButton(
            tr(language, "myrules.button.delete", number=number), callback_data=f"mr:d:{number}"
        )
        rows.append([toggle, delete])
    lines.append("\n" + tr(language, "myrules.edit_hint"))
    return "\n".join(lines), InlineKeyboardMarkup(rows)


class PersonalCommands:
    """``/watch``, ``/myrules``, ``/promote`` and their buttons, in each chat's language."""

    def __init__(
        self,
        services: Services,
        personal: PersonalRules,
        out: ReplySender,
        searches: RecentSearches,
    ) -> None:
        self.services = services
        self.personal = personal
        self.out = out
        self.searches = searches

    # /watch ---------------------------------------------------------------------------------
    async def watch(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        chat = update.effective_chat
        assert chat is not None
        lang = language_of(self.services, chat.id)
        query = " ".join(context.args or []).strip()
        if not query:
            await usage_in(self.out, update, lang, "watch", tr(lang, "watch.usage"))
            return
        text, markup = await self.preview_message(query, chat.id)
        await reply(self.out, update, text, markup)

    async def preview_message(
        self, query: str, chat_id: int
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """The preview of ``query`` with save / refine / cancel buttons (or the query's
        problem, with a caret under its column), in the chat's language."""
        lang = language_of(self.services, chat_id)
        try:
            found = await preview(self.services, query)
        except QueryProblem as e:
            return query_problem_html(e, lang), None
        lines = [preview_html(found.query, found.total, found.scanned, found.days, lang)]
        if found.newest:
            lines.append(tr(lang, "watch.newest" if found.total > 1 else "watch.the_one"))
            tz = self.services.chat_prefs.tz(chat_id, self.services.settings.tz)
            sources = await self.services.storage.sources_by_identity(
                [f.article.identity for f in found.newest]
            )
            lines += found_lines(found.newest, tz, sources, lang)
        number = self.searches.remember(found.query)
        buttons = [
            InlineKeyboardButton(tr(lang, "watch.button.refine"), callback_data=f"w:r:{number}"),
            InlineKeyboardButton(tr(lang, "watch.button.cancel"), callback_data=f"w:c:{number}"),
        ]
        if self.personal.limit > 0:
            lines.append("\n" + tr(lang, "watch.choose"))
            buttons.insert(
                0,
                InlineKeyboardButton(tr(lang, "watch.button.save"), callback_data=f"w:s:{number}"),
            )
        else:
            lines.append("\n" + tr(lang, "watch.saving_off"))
        return "\n".join(lines), InlineKeyboardMarkup([buttons])

    async def watch_button(self, update: Update, context: Context) -> None:
        press = await pressed(self.services, self.out, update, "/watch")
        if press is None:
            return
        query, message, lang = press.query, press.message, press.lang
        _, action, number_text = press.parts
        text = self.searches.get(int(number_text)) if number_text.isdigit() else None
        if text is None:
            await query.answer(tr(lang, "watch.expired"), show_alert=True)
            return
        if action == "c":
            await redraw(self.out, query, tr(lang, "watch.cancelled", query=esc(text)), None)
            await query.answer(tr(lang, "watch.cancelled.toast"))
        elif action == "r":
            await redraw(self.out, query, tr(lang, "watch.refine", query=esc(text)), None)
            await query.answer()
        elif action in ("s", "f"):  # f: from a /search page, which stays as it is
            await self._save(update, context, query, message, text, in_place=action == "s")
        else:
            await unsupported(press, "/watch")

    async def _save(
        self,
        update: Update,
        context: Context,
        query: CallbackQuery,
        message: Message,
        text: str,
        *,
        in_place: bool,
    ) -> None:
        chat = message.chat
        lang = language_of(self.services, chat.id)
        if not await may_press(self.services.settings, update, context, chat):
            await query.answer(tr(lang, "adm.group_admins"), show_alert=True)
            return
        await remember_chat(self.services.storage, chat)
        user = update.effective_user
        try:
            saved = await self.personal.save(
                chat.id,
                text,
                user_id=user.id if user else None,
                thread_id=message.message_thread_id if message.is_topic_message else None,
            )
        except LimitReached as e:
            rules = counted(lang, e.limit, "personal_rule")
            await query.answer(tr(lang, "watch.limit", rules=rules), show_alert=True)
            return
        except QueryProblem as e:  # the rule language changed since the preview
            await redraw(self.out, query, query_problem_html(e, lang), None)
            await query.answer()
            return
        done = tr(
            lang,
            "watch.saved",
            number=saved.number,
            rule_id=saved.rule_id,
            query=esc(saved.query),
        )
        if in_place:
            await redraw(self.out, query, done, None)
        else:
            await send_to(self.out, message, done, None)
        await query.answer(tr(lang, "watch.saved.toast"))

    # /myrules -------------------------------------------------------------------------------
    async def myrules(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        chat = update.effective_chat
        assert chat is not None
        lang = language_of(self.services, chat.id)
        args = list(context.args or [])
        if not args:
            await self._show(update, chat.id)
            return
        action = args[0].lower()
        if action not in ("edit", "pause", "resume", "delete"):
            problem = tr(lang, "myrules.unknown_action", action=args[0])
            await usage_in(self.out, update, lang, "myrules", problem)
            return
        if len(args) < 2 or not args[1].isdigit():
            await usage_in(self.out, update, lang, "myrules", tr(lang, "myrules.give_number"))
            return
        if not await may_change(self.services.settings, update, context):
            await reply(self.out, update, "❌ " + tr(lang, "adm.group_admins"))
            return
        number = int(args[1])
        if action == "edit":
            query = " ".join(args[2:]).strip()
            if not query:
                await usage_in(self.out, update, lang, "myrules", tr(lang, "myrules.give_query"))
                return
            if len(query) > MAX_QUERY_CHARS:
                await reply(self.out, update, tr(lang, "myrules.too_long", max=MAX_QUERY_CHARS))
                return
            try:
                changed = await self.personal.edit(chat.id, number, query)
            except QueryProblem as e:
                await reply(self.out, update, query_problem_html(e, lang))
                return
            done = (
                tr(lang, "myrules.edited", number=number, query=esc(changed.query))
                if changed
                else ""
            )
        elif action == "delete":
            deleted = await self.personal.delete(chat.id, number)
            done = tr(lang, "myrules.deleted", number=number) if deleted else ""
        else:
            paused = action == "pause"
            changed = await self.personal.set_paused(chat.id, number, paused)
            key = "myrules.paused_rule" if paused else "myrules.resumed_rule"
            done = tr(lang, key, number=number) if changed else ""
        if not done:
            await reply(self.out, update, tr(lang, "myrules.no_such", number=number))
            return
        await reply(self.out, update, done)

    async def _show(self, update: Update, chat_id: int) -> None:
        text, markup = rules_list(
            await self.personal.of_chat(chat_id),
            self.personal.limit,
            language_of(self.services, chat_id),
        )
        await reply(self.out, update, text, markup)

    async def myrules_button(self, update: Update, context: Context) -> None:
        press = await pressed(self.services, self.out, update, "/myrules")
        if press is None:
            return
        query, chat, lang = press.query, press.chat, press.lang
        _, action, number_text = press.parts
        if action not in ("p", "r", "d") or not number_text.isdigit():
            await unsupported(press, "/myrules")
            return
        if not await may_press(self.services.settings, update, context, chat):
            await query.answer(tr(lang, "adm.group_admins"), show_alert=True)
            return
        number = int(number_text)
        if action == "d":
            ok = await self.personal.delete(chat.id, number)
            note = tr(lang, "myrules.deleted.toast", number=number)
        else:
            ok = await self.personal.set_paused(chat.id, number, action == "p") is not None
            key = "myrules.paused.toast" if action == "p" else "myrules.resumed.toast"
            note = tr(lang, key, number=number)
        text, markup = rules_list(await self.personal.of_chat(chat.id), self.personal.limit, lang)
        await redraw(self.out, query, text, markup)
        await query.answer(note if ok else tr(lang, "myrules.gone.toast", number=number))

    # /promote -------------------------------------------------------------------------------
    async def promote(self, update: Update, context: Context) -> None:
        if not await admins_only(self.services, self.out, update):
            return
        lang = update_language(self.services, update)
        args = list(context.args or [])
        if not args:
            await self._list_all(update, lang)
            return
        if len(args) != 2:
            await usage_in(self.out, update, lang, "promote", tr(lang, "promote.give_ids"))
            return
        rule = await self.personal.find(args[0])
        if rule is None:
            problem = tr(lang, "promote.no_such", rule_id=args[0])
            await usage_in(self.out, update, lang, "promote", problem)
            return
        try:
            path = await self.personal.promote(rule, args[1], self.services.settings.rules_dir)
        except RuleIdTaken as e:
            error = tr(lang, "promote.taken", new_id=repr(e.rule_id))
            await reply(self.out, update, tr(lang, "promote.refused", error=esc(error)))
            return
        except ConfigError as e:  # the rule files' own message (a bad id, an unwritable file)
            await reply(self.out, update, tr(lang, "promote.refused", error=esc(str(e))))
            return
        await reply(
            self.out,
            update,
            tr(
                lang,
                "promote.done",
                old_id=esc(args[0]),
                new_id=esc(args[1]),
                path=esc(str(path)),
            ),
        )

    async def _list_all(self, update: Update, lang: Language | None) -> None:
        rules = await self.personal.every_chat()
        if not rules:
            await reply(self.out, update, tr(lang, "promote.none"))
            return
        lines = [tr(lang, "promote.title")]
        paused = tr(lang, "myrules.paused")
        for rule in rules:
            lines.append(
                f"• <code>{rule.rule_id}</code> {esc(rule.name)}" + (paused if rule.paused else "")
            )
        await reply(self.out, update, "\n".join(lines))
