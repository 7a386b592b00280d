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
from bot.personal_rules import LimitReached, PersonalRules, personal_rule_id, preview
from bot.search import MAX_QUERY_CHARS, QueryProblem
from bot.services import Services
from bot.telegram.handlers.access import Context, admin_gate, gate, may_change, may_press
from bot.telegram.handlers.browse import RecentSearches, found_lines, query_problem_html
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.membership import remember_chat
from bot.telegram.handlers.replies import redraw, reply, send_to
from bot.telegram.handlers.text import esc, plural
from core.errors import ConfigError
from storage.base import PersonalRule

_GROUP_ONLY_ADMINS = "Only this group's administrators can change its rules."


def preview_html(text: str, total: int, scanned: int, days: int) -> str:
    return (
        f"🔎 Preview of <code>{esc(text)}</code>: it would have matched "
        f"<b>{plural(total, 'story')}</b> in the last {days} days "
        f"({plural(scanned, 'story')} searched)."
    )


def rules_list(
    rules: list[PersonalRule], chat_id: int, limit: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The chat's personal rules, numbered, with pause/resume and delete buttons per rule."""
    if not rules:
        return (
            "This chat has no personal rules. Make one with <code>/watch QUERY</code>: it shows "
            "what the query would have matched, then saves it as a rule for this chat.",
            None,
        )
    lines = [f"<b>Personal rules of this chat</b> ({len(rules)} of {limit})"]
    rows: list[list[InlineKeyboardButton]] = []
    for rule in rules:
        state = " · ⏸ paused" if rule.paused else ""
        lines.append(
            f"\n{rule.number}. <b>{esc(rule.name)}</b> · "
            f"<code>{personal_rule_id(chat_id, rule.number)}</code>{state}\n"
            f"<code>{esc(rule.query)}</code>"
        )
        toggle = (
            InlineKeyboardButton(f"▶ Resume {rule.number}", callback_data=f"mr:r:{rule.number}")
            if rule.paused
            else InlineKeyboardButton(f"⏸ Pause {rule.number}", callback_data=f"mr:p:{rule.number}")
        )
        delete = InlineKeyboardButton(
            f"🗑 Delete {rule.number}", callback_data=f"mr:d:{rule.number}"
        )
        rows.append([toggle, delete])
    lines.append("\nChange a query: <code>/myrules edit N NEW QUERY</code>.")
    return "\n".join(lines), InlineKeyboardMarkup(rows)


class PersonalCommands:
    """``/watch``, ``/myrules``, ``/promote`` and their buttons."""

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
        query = " ".join(context.args or []).strip()
        if not query:
            await usage(self.out, update, "watch", "Give a query, e.g. /watch Rubio AND Vietnam.")
            return
        chat = update.effective_chat
        assert chat is not None
        text, markup = await self.preview_message(query, chat.id)
        await reply(self.out, update, text, markup)

    async def preview_message(
        self, query: str, chat_id: int
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """The preview of ``query`` with save / refine / cancel buttons (or the query's
        problem, with a caret under its column)."""
        try:
            found = await preview(self.services, query)
        except QueryProblem as e:
            return query_problem_html(e), None
        lines = [preview_html(found.query, found.total, found.scanned, found.days)]
        if found.newest:
            lines.append("Newest:" if found.total > 1 else "The one match:")
            tz = self.services.chat_prefs.tz(chat_id, self.services.settings.tz)
            sources = await self.services.storage.sources_by_identity(
                [f.article.identity for f in found.newest]
            )
            lines += found_lines(found.newest, tz, sources)
        number = self.searches.remember(found.query)
        buttons = [
            InlineKeyboardButton("✏️ Refine", callback_data=f"w:r:{number}"),
            InlineKeyboardButton("✖ Cancel", callback_data=f"w:c:{number}"),
        ]
        if self.personal.limit > 0:
            lines.append("\nSave it as a rule for this chat, refine it, or cancel.")
            buttons.insert(
                0, InlineKeyboardButton("💾 Save as rule", callback_data=f"w:s:{number}")
            )
        else:
            lines.append("\nSaving rules from the chat is turned off by the bot's administrator.")
        return "\n".join(lines), InlineKeyboardMarkup([buttons])

    async def watch_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        if not await gate(self.services.settings, self.out, update):
            return
        message = query.message if isinstance(query.message, Message) else None
        if message is None:
            await query.answer("This message is too old; send /watch again.", show_alert=True)
            return
        _, action, number_text = ([*query.data.split(":"), "", ""])[:3]
        text = self.searches.get(int(number_text)) if number_text.isdigit() else None
        if text is None:
            await query.answer("This preview has expired; send /watch again.", show_alert=True)
            return
        if action == "c":
            await redraw(
                self.out, query, f"✖ Cancelled: <code>{esc(text)}</code> was not saved.", None
            )
            await query.answer("Cancelled")
        elif action == "r":
            await redraw(
                self.out,
                query,
                "✏️ Send /watch again with the refined query (tap the line below to copy it):\n"
                f"<code>/watch {esc(text)}</code>",
                None,
            )
            await query.answer()
        elif action in ("s", "f"):  # f: from a /search page, which stays as it is
            await self._save(update, context, query, message, text, in_place=action == "s")
        else:
            await query.answer("This button is no longer supported; send /watch again.")

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
        if not await may_press(self.services.settings, update, context, chat):
            await query.answer(_GROUP_ONLY_ADMINS, show_alert=True)
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
            await query.answer(
                f"This chat already has {plural(e.limit, 'personal rule')}, the most allowed. "
                "Delete one with /myrules first.",
                show_alert=True,
            )
            return
        except QueryProblem as e:  # the rule language changed since the preview
            await redraw(self.out, query, query_problem_html(e), None)
            await query.answer()
            return
        rule_id = personal_rule_id(chat.id, saved.number)
        done = (
            f"✅ Saved as rule {saved.number} of this chat (<code>{rule_id}</code>): "
            f"<code>{esc(saved.query)}</code>\nThis chat is subscribed: new matching stories "
            "are alerted here. /myrules lists, edits, pauses and deletes your rules."
        )
        if in_place:
            await redraw(self.out, query, done, None)
        else:
            await send_to(self.out, message, done, None)
        await query.answer("Saved")

    # /myrules -------------------------------------------------------------------------------
    async def myrules(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        chat = update.effective_chat
        assert chat is not None
        args = list(context.args or [])
        if not args:
            await self._show(update, chat.id)
            return
        action = args[0].lower()
        if action not in ("edit", "pause", "resume", "delete"):
            await usage(self.out, update, "myrules", f"Unknown action “{args[0]}”.")
            return
        if len(args) < 2 or not args[1].isdigit():
            await usage(self.out, update, "myrules", "Give the rule's number, as /myrules lists.")
            return
        if not await may_change(self.services.settings, update, context):
            await reply(self.out, update, f"❌ {_GROUP_ONLY_ADMINS}")
            return
        number = int(args[1])
        if action == "edit":
            query = " ".join(args[2:]).strip()
            if not query:
                await usage(self.out, update, "myrules", "Give the new query after the number.")
                return
            if len(query) > MAX_QUERY_CHARS:
                await reply(
                    self.out, update, f"❌ A query has at most {MAX_QUERY_CHARS} characters."
                )
                return
            try:
                changed = await self.personal.edit(chat.id, number, query)
            except QueryProblem as e:
                await reply(self.out, update, query_problem_html(e))
                return
            done = (
                f"✏️ Rule {number} now reads <code>{esc(changed.query)}</code>." if changed else ""
            )
        elif action == "delete":
            done = (
                f"🗑 Deleted rule {number}." if await self.personal.delete(chat.id, number) else ""
            )
        else:
            paused = action == "pause"
            changed = await self.personal.set_paused(chat.id, number, paused)
            done = (
                (f"⏸ Paused rule {number}." if paused else f"▶ Resumed rule {number}.")
                if (changed)
                else ""
            )
        if not done:
            await reply(
                self.out, update, f"❌ This chat has no personal rule {number}. See /myrules."
            )
            return
        await reply(self.out, update, done)

    async def _show(self, update: Update, chat_id: int) -> None:
        text, markup = rules_list(
            await self.personal.of_chat(chat_id), chat_id, self.personal.limit
        )
        await reply(self.out, update, text, markup)

    async def myrules_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        if not await gate(self.services.settings, self.out, update):
            return
        message = query.message if isinstance(query.message, Message) else None
        if message is None:
            await query.answer("This message is too old; send /myrules again.", show_alert=True)
            return
        _, action, number_text = ([*query.data.split(":"), "", ""])[:3]
        chat = message.chat
        if action not in ("p", "r", "d") or not number_text.isdigit():
            await query.answer("This button is no longer supported; send /myrules again.")
            return
        if not await may_press(self.services.settings, update, context, chat):
            await query.answer(_GROUP_ONLY_ADMINS, show_alert=True)
            return
        number = int(number_text)
        if action == "d":
            ok = await self.personal.delete(chat.id, number)
            note = f"Deleted rule {number}"
        else:
            ok = await self.personal.set_paused(chat.id, number, action == "p") is not None
            note = f"{'Paused' if action == 'p' else 'Resumed'} rule {number}"
        text, markup = rules_list(
            await self.personal.of_chat(chat.id), chat.id, self.personal.limit
        )
        await redraw(self.out, query, text, markup)
        await query.answer(note if ok else f"Rule {number} no longer exists")

    # /promote -------------------------------------------------------------------------------
    async def promote(self, update: Update, context: Context) -> None:
        if not await admin_gate(self.services.settings, self.out, update):
            return
        args = list(context.args or [])
        if not args:
            await self._list_all(update)
            return
        if len(args) != 2:
            await usage(self.out, update, "promote", "Give the personal rule's id and a new id.")
            return
        rule = await self.personal.find(args[0])
        if rule is None:
            await usage(
                self.out,
                update,
                "promote",
                f"There is no personal rule “{args[0]}”; /promote lists them.",
            )
            return
        try:
            path = await self.personal.promote(rule, args[1], self.services.settings.rules_dir)
        except ConfigError as e:
            await reply(self.out, update, f"❌ Not promoted: <pre>{esc(str(e))}</pre>")
            return
        await reply(
            self.out,
            update,
            f"⬆️ <code>{esc(args[0])}</code> is now the rule <code>{esc(args[1])}</code> in "
            f"<code>{esc(str(path))}</code>; its chat's subscription moved to it.",
        )

    async def _list_all(self, update: Update) -> None:
        rules = await self.personal.every_chat()
        if not rules:
            await reply(self.out, update, "No chat has saved a personal rule yet.")
            return
        lines = ["<b>Personal rules</b> (promote one: <code>/promote ID NEW-ID</code>)"]
        for rule in rules:
            lines.append(
                f"• <code>{personal_rule_id(rule.chat_id, rule.number)}</code> "
                f"{esc(rule.name)}" + (" · ⏸ paused" if rule.paused else "")
            )
        await reply(self.out, update, "\n".join(lines))
