"""The buttons under every alert (``bot.delivery.alert_buttons``): mute the alert's rules here
(1 h, 1 day, until unmuted) and unmute them (with one catch-up digest of what matched
meanwhile), unsubscribe and subscribe again, mark the story "not relevant"; and ``/feedback``,
which lists those marks for the rules a chat owns (its personal rules; every rule for the bot's
administrators).

A press acts on the alert's rules that this chat is subscribed to, read back from the alert's
outbox row (``Storage.alert_ref``); it is answered with a toast saying what happened, then the
keyboard is redrawn from what storage now says (muted until when, unsubscribed, marked). In a
group, muting and unsubscribing take a group administrator, as subscribing does; anyone allowed
may mark a story not relevant. Mute logic is ``bot.delivery.rule_mutes``'s.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.delivery.alert_buttons import (
    MUTE_LABELS,
    MUTE_SECONDS,
    AlertAction,
    AlertButtonState,
    alert_keyboard,
    parse_callback,
)
from bot.delivery.replies import ReplySender
from bot.delivery.rule_mutes import mute_rule, unmute_rule
from bot.personal_rules import is_personal_rule_id, parse_personal_rule_id
from bot.services import Services
from bot.telegram.handlers.access import Context, gate, is_admin, may_press
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.text import esc, link, plural, rule_tag
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
        if parsed is None or message is None:
            await query.answer("This button is no longer supported.")
            return
        action, delivery_id = parsed
        storage = self.services.storage
        ref = await storage.alert_ref(delivery_id)
        if ref is None or ref.chat_id != message.chat.id:
            await query.answer(
                "This alert is too old for its buttons (its story was pruned).", show_alert=True
            )
            return
        changes_chat = action not in (AlertAction.NOT_RELEVANT, AlertAction.NOTED)
        if changes_chat and not await may_press(
            self.services.settings, update, context, message.chat
        ):
            await query.answer(
                "Only this group's administrators can change its alerts.", show_alert=True
            )
            return
        user = update.effective_user
        note = await self._act(action, ref, user.id if user else None)
        state = await self._state(ref)
        # Redraw first, then answer: the answer ends the button's spinner.
        await self.out.edit_buttons(
            ref.chat_id, message.message_id, alert_keyboard(ref.delivery_id, ref.link, state)
        )
        await query.answer(note[:200])

    async def _act(self, action: AlertAction, ref: AlertRef, user_id: int | None) -> str:
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
            return (
                f"Noted: not relevant for {_tags(ref.rule_ids)}. Thanks, the rule's owner sees it."
            )
        if action is AlertAction.NOTED:
            return "Already done."
        if action is AlertAction.RESUBSCRIBE:
            for rule_id in ref.rule_ids:
                await storage.subscribe(ref.chat_id, rule_id, ref.thread_id)
            return f"Subscribed again to {_tags(ref.rule_ids)}."
        if not subscribed:
            return f"This chat is no longer subscribed to {_tags(ref.rule_ids)}."
        if action in MUTE_SECONDS:
            for rule_id in subscribed:
                await mute_rule(self.services, ref.chat_id, rule_id, MUTE_SECONDS[action])
            return (
                f"Muted {_tags(subscribed)} here for {MUTE_LABELS[action]}; other rules still "
                "alert."
            )
        if action is AlertAction.UNMUTE:
            caught_up = 0
            for rule_id in subscribed:
                caught_up += (
                    await unmute_rule(self.services, ref.chat_id, rule_id, ref.thread_id) or 0
                )
            if caught_up:
                return (
                    f"Unmuted {_tags(subscribed)}: {plural(caught_up, 'match')} from while it "
                    "was muted follow in one catch-up message."
                )
            return f"Unmuted {_tags(subscribed)}: nothing matched while it was muted."
        for rule_id in subscribed:  # UNSUBSCRIBE
            await storage.unsubscribe(ref.chat_id, rule_id)
        return f"Unsubscribed from {_tags(subscribed)}."

    async def _state(self, ref: AlertRef) -> AlertButtonState:
        storage = self.services.storage
        subs = {
            s.rule_id: s
            for s in await storage.subscription_details(ref.chat_id)
            if s.rule_id in ref.rule_ids
        }
        now = self.services.clock.now()
        muted: str | None = None
        ends = [s.muted_until for s in subs.values() if s.muted_until and s.muted_until > now]
        if ends and len(ends) == len(subs):
            end = max(ends)
            tz = self.services.settings.tz
            muted = (
                "until unmuted" if end.year >= 9999 else end.astimezone(tz).strftime("until %H:%M")
            )
        marked = any(
            f.chat_id == ref.chat_id and f.article_identity == ref.article_identity
            for f in await storage.feedback(list(ref.rule_ids))
        )
        return AlertButtonState(muted=muted, unsubscribed=not subs, not_relevant=marked)

    # /feedback ------------------------------------------------------------------------------
    async def feedback(self, update: Update, context: Context) -> None:
        settings = self.services.settings
        if not await gate(settings, self.out, update):
            return
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None
        admin = is_admin(settings, user.id if user else None)
        found = await self.services.storage.feedback()
        mine = [f for f in found if admin or _owned_by(f.rule_id, chat.id)]
        if not mine:
            whose = "any rule" if admin else "this chat's personal rules"
            await reply(self.out, update, f"No story was marked not relevant for {whose}.")
            return
        heading = "every rule" if admin else "this chat's personal rules"
        lines = [f"<b>Marked not relevant</b> ({plural(len(mine), 'mark')}, {heading})"]
        tz = settings.tz
        for f in mine[:FEEDBACK_SHOWN]:
            when = f.created_at.astimezone(tz).strftime("%d %b %H:%M")
            lines.append(f"• {esc(rule_tag(f.rule_id))} · {link(f.title, f.link)} · {when}")
        if len(mine) > FEEDBACK_SHOWN:
            lines.append(f"… and {len(mine) - FEEDBACK_SHOWN} more (newswatch rules backtest).")
        await reply(self.out, update, "\n".join(lines))


def _owned_by(rule_id: str, chat_id: int) -> bool:
    parsed = parse_personal_rule_id(rule_id) if is_personal_rule_id(rule_id) else None
    return parsed is not None and parsed[0] == chat_id
