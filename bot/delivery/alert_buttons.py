"""The inline keyboard under every alert: mute the alert's rules in this chat (1 h, 1 day, off),
unsubscribe from them, mark the story "not relevant", open the source.

``alert_keyboard(delivery_id, link, state)`` builds it; every button's ``callback_data`` is
``al:<action>:<delivery id>`` (at most 24 bytes, far inside Telegram's 64), and the handler
(``bot.telegram.handlers.alert_buttons``) reads the rules and the article back from the outbox
row (``Storage.alert_ref``). ``state`` says what was already done, so that after a press the
keyboard shows it (and offers the way back: unmute, subscribe again). Builds markup only: sends
nothing and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery.alert_format import safe_link

PREFIX = "al"


class AlertAction(StrEnum):
    MUTE_HOUR = "m1h"
    MUTE_DAY = "m1d"
    MUTE_OFF = "moff"  # until unmuted
    UNMUTE = "um"
    UNSUBSCRIBE = "un"
    RESUBSCRIBE = "rs"
    NOT_RELEVANT = "nr"
    NOTED = "ok"  # a button that only says what was done


MUTE_SECONDS: dict[AlertAction, float | None] = {
    AlertAction.MUTE_HOUR: 3600.0,
    AlertAction.MUTE_DAY: 86400.0,
    AlertAction.MUTE_OFF: None,
}
MUTE_LABELS: dict[AlertAction, str] = {
    AlertAction.MUTE_HOUR: "1 h",
    AlertAction.MUTE_DAY: "1 day",
    AlertAction.MUTE_OFF: "until unmuted",
}


@dataclass(frozen=True, slots=True)
class AlertButtonState:
    """What was done from this alert's keyboard."""

    muted: str | None = None  # the label of the mute in force ("1 h", ...)
    unsubscribed: bool = False
    not_relevant: bool = False


def callback(action: AlertAction, delivery_id: int) -> str:
    return f"{PREFIX}:{action.value}:{delivery_id}"


def parse_callback(data: str) -> tuple[AlertAction, int] | None:
    """(action, delivery id) of an alert button's data; None for anything else."""
    prefix, _, rest = data.partition(":")
    action_text, _, id_text = rest.partition(":")
    if prefix != PREFIX or not id_text.isdigit():
        return None
    try:
        return AlertAction(action_text), int(id_text)
    except ValueError:
        return None


def alert_keyboard(
    delivery_id: int, link: str | None, state: AlertButtonState = AlertButtonState()
) -> InlineKeyboardMarkup:
    """The keyboard of the alert sent from outbox row ``delivery_id``."""

    def button(text: str, action: AlertAction) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=callback(action, delivery_id))

    rows: list[list[InlineKeyboardButton]] = []
    if state.unsubscribed:
        rows.append(
            [
                button("🚫 Unsubscribed", AlertAction.NOTED),
                button("↩ Subscribe again", AlertAction.RESUBSCRIBE),
            ]
        )
    elif state.muted is not None:
        rows.append(
            [
                button(f"🔕 Muted here ({state.muted})", AlertAction.NOTED),
                button("🔔 Unmute", AlertAction.UNMUTE),
            ]
        )
    else:
        rows.append([button(f"🔕 {MUTE_LABELS[a]}", a) for a in MUTE_SECONDS])
        rows.append([button("🚫 Unsubscribe", AlertAction.UNSUBSCRIBE)])
    last = [
        button("✔ Marked not relevant", AlertAction.NOTED)
        if state.not_relevant
        else button("👎 Not relevant", AlertAction.NOT_RELEVANT)
    ]
    href = safe_link(link)
    if href is not None:
        last.append(InlineKeyboardButton("🔗 Open source", url=href))
    rows.append(last)
    return InlineKeyboardMarkup(rows)
