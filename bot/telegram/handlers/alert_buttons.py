"""The buttons under every alert (``bot.delivery.alert_buttons``): mute the alert's rules here
(1 h, 1 day, until unmuted) and unmute them (with one catch-up digest of what matched
meanwhile), unsubscribe and subscribe again, mark the story "not relevant"; and ``/feedback``,
which lists those marks for the rules a chat owns (its personal rules; every rule for the bot's
administrators), in the chat's language.

A press acts on the alert's rules that this chat is subscribed to, read back from the alert's outbox
row (``Storage.alert_ref``); it is answered with a toast saying what happened, then the keyboard is
redrawn from what storage now says (muted until when, unsubscribed, marked:
``bot.delivery.alert_state``), the toast and the labels in the chat's language. In a group, muting
and unsubscribing take a group administrator, as subscribing does; anyone allowed may mark a story
not relevant. A press on an alert sent before its group became a supergroup acts on the supergroup
(where the alert's subscriptions and personal rules went, ids unchanged). Mute logic is
``bot.delivery.rule_mutes``'s.
"""

from __future__ import annotations

from dataclasses import replace

from telegram import Message, Update

from bot.delivery.alert_buttons import (
    MUTE_SECONDS,
    AlertAction,
    alert_keyboard,
    mute_label,
    parse_callback,
)
from bot.delivery.alert_state import button_state
from bot.delivery.replies import ReplySender
from bot.delivery.rule_mutes import mute_rule, unmute_rule
from bot.i18n import text
from bot.i18n.forms import counted, moment
from bot.personal_rules import is_personal_rule_id
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, is_admin, may_press
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc, link, rule_tag
from core.models import Language
from storage.base import AlertRef, Feedback

FEEDBACK_SHOWN = 30


def _tags(rule_ids: list[str] | tuple[str, ...]) -> str:
    return " ".join(rule_tag(r) for r in rule_ids)


class AlertButtons:
    """Presses of alert buttons, and ``/feedback``."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def press(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        if not await gate(self.services.settings, self.out, update):
            return
        parsed = parse_callback(query.data)
        message = query.message if isinstance(query.message, Message) else None
        # The answers and the keyboard are in the chat's language (/settings).
        chat_id = message.chat.id if message is not None else None
        lang = self.services.chat_prefs.get(chat_id).language if chat_id is not None else None
        if parsed is None or message is None:
            await query.answer(text(lang, "toast.unsupported"))
            return
        action, delivery_id = parsed
        storage = self.services.storage
        ref = await storage.alert_ref(delivery_id)
        current = await chat_now(self.services, ref.chat_id) if ref is not None else None
        if ref is None or message.chat.id not in (ref.chat_id, current):
            await query.answer(text(lang, "toast.too_old"), show_alert=True)
            return
        if current is not None and current != ref.chat_id:
            # Sent before the group became a supergroup: its subscriptions, mutes and personal
            # rules are the new chat's now (same rule ids), so the press acts there. A group
            # has no topics, so there is no thread to keep.
            ref = replace(ref, chat_id=current, thread_id=None)
            lang = self.services.chat_prefs.get(current).language
        changes_chat = action not in (AlertAction.NOT_RELEVANT, AlertAction.NOTED)
        if changes_chat and not await may_press(
            self.services.settings, update, context, message.chat, chat_id=ref.chat_id
        ):
            await query.answer(text(lang, "toast.admins_only"), show_alert=True)
            return
        user = update.effective_user
        note = await self._act(action, ref, user.id if user else None, lang)
        # Redrawn from what storage now says (bot.delivery.alert_state), as an edit of the
        # alert redraws it; redraw first, then answer: the answer ends the button's spinner.
        state = await button_state(self.services, ref)
        tz = self.services.chat_prefs.tz(ref.chat_id, self.services.settings.tz)
        keyboard = alert_keyboard(ref.delivery_id, ref.link, state, language=lang, tz=tz)
        # Redrawn where the message is: for a migrated group Telegram may refuse the edit
        # ("migrated": logged by the reply sender); the answer below still says what was done.
        await self.out.edit_buttons(message.chat.id, message.message_id, keyboard)
        await query.answer(note[:200])

    async def _act(
        self, action: AlertAction, ref: AlertRef, user_id: int | None, lang: Language | None
    ) -> str:
        """Do what ``action`` says for the alert ``ref``; the toast that says what was done."""
        storage = self.services.storage
        subscribed = [r for r in ref.rule_ids if r in set(await storage.subscriptions(ref.chat_id))]
        if action is AlertAction.NOT_RELEVANT:
            now = self.services.clock.now()
            for rule_id in ref.rule_ids:
                await storage.add_feedback(
                    Feedback(
                        ref.chat_id,
                        rule_id,
                        ref.article_identity,
                        ref.title,
                        ref.link,
                        user_id,
                        now,
                    )
                )
            return text(lang, "toast.not_relevant", tags=_tags(ref.rule_ids))
        if action is AlertAction.NOTED:
            return text(lang, "toast.already")
        if action is AlertAction.RESUBSCRIBE:
            for rule_id in ref.rule_ids:
                await storage.subscribe(ref.chat_id, rule_id, ref.thread_id)
            return text(lang, "toast.resubscribed", tags=_tags(ref.rule_ids))
        if not subscribed:
            return text(lang, "toast.not_subscribed", tags=_tags(ref.rule_ids))
        if action in MUTE_SECONDS:
            for rule_id in subscribed:
                await mute_rule(self.services, ref.chat_id, rule_id, MUTE_SECONDS[action])
            if action is AlertAction.MUTE_OFF:
                return text(lang, "toast.muted_off", tags=_tags(subscribed))
            return text(
                lang, "toast.muted", tags=_tags(subscribed), duration=mute_label(action, lang)
            )
        if action is AlertAction.UNMUTE:
            caught_up = 0
            for rule_id in subscribed:
                caught_up += (
                    await unmute_rule(self.services, ref.chat_id, rule_id, ref.thread_id) or 0
                )
            if caught_up:
                return counted(lang, "toast.unmuted", caught_up, tags=_tags(subscribed))
            return text(lang, "toast.unmuted_nothing", tags=_tags(subscribed))
        for rule_id in subscribed:  # UNSUBSCRIBE
            await storage.unsubscribe(ref.chat_id, rule_id)
        return text(lang, "toast.unsubscribed", tags=_tags(subscribed))

    # /feedback ------------------------------------------------------------------------------
    async def feedback(self, update: Update, context: Context) -> None:
        settings = self.services.settings
        if not await gate(settings, self.out, update):
            return
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None
        admin = is_admin(settings, user.id if user else None)
        lang = self.services.chat_prefs.get(chat.id).language  # the reply in the chat's language
        storage = self.services.storage
        found = await storage.feedback()
        owned = {r.rule_id for r in await storage.personal_rules(chat.id)}
        mine = [f for f in found if admin or _owned_by(f, chat.id, owned)]
        if not mine:
            key = "feedback.marks_none_any" if admin else "feedback.marks_none_mine"
            await reply(self.out, update, text(lang, key))
            return
        scope = text(lang, "feedback.marks_scope_all" if admin else "feedback.marks_scope_mine")
        lines = [counted(lang, "feedback.marks_title", len(mine), scope=scope)]
        tz = self.services.chat_prefs.tz(chat.id, settings.tz)
        for f in mine[:FEEDBACK_SHOWN]:
            when = moment(lang, "date.alert_short", f.created_at, tz)
            lines.append(f"• {esc(rule_tag(f.rule_id))} · {link(f.title, f.link)} · {when}")
        if len(mine) > FEEDBACK_SHOWN:
            lines.append(text(lang, "feedback.marks_more", count=len(mine) - FEEDBACK_SHOWN))
        await reply(self.out, update, "\n".join(lines))


def _owned_by(mark: Feedback, chat_id: int, owned: set[str]) -> bool:
    """Is ``mark`` about a personal rule of ``chat_id``: one it owns now (``owned``, which a
    migration brought along with ids naming the old chat), or a deleted one it was marked in
    (only the owner is subscribed to a personal rule, so only the owner gets its alerts)?"""
    return mark.rule_id in owned or (mark.chat_id == chat_id and is_personal_rule_id(mark.rule_id))


async def chat_now(services: Services, chat_id: int) -> int:
    """The id ``chat_id`` goes by now: the supergroup it became when it migrated (followed,
    a few hops at most), else itself."""
    for _hop in range(3):
        chat = await services.storage.get_chat(chat_id)
        if chat is None or chat.migrated_to is None or chat.migrated_to == chat_id:
            break
        chat_id = chat.migrated_to
    return chat_id
