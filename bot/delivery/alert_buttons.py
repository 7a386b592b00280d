"""The inline keyboard under every alert: mute the alert's rules in this chat (1 h, 1 day, off),
unsubscribe from them, mark the story "not relevant", open the source.

``alert_keyboard(delivery_id, link, state)`` builds it; every button's ``callback_data`` is
``al:<action>:<delivery id>`` (at most 24 bytes, far inside Telegram's 64), and the handler
(``bot.telegram.handlers.alert_buttons``) reads the rules and the article back from the outbox
row (``Storage.alert_ref``). ``state`` says what was already done, so that after a press the
keyboard shows it (and offers the way back: unmute, subscribe again); ``bot.delivery.alert_state``
reads that state back from storage, for a press and for an edit of the alert alike. Labels are
in the chat's language (``bot.i18n``). Builds markup only: sends nothing and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

import bot.i18n as i18n
from bot.delivery.alert_format import safe_link
from bot.i18n.forms import moment
from core.models import Language

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
# The catalogue keys of the mutes' durations ("1 h", "1 day", "until unmuted").
MUTE_LABELS: dict[AlertAction, str] = {
    AlertAction.MUTE_HOUR: "alertbutton.mute_hour",
    AlertAction.MUTE_DAY: "alertbutton.mute_day",
    AlertAction.MUTE_OFF: "alertbutton.mute_off",
}
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class AlertButtonState:
    """What was done from this alert's keyboard (or by any other way: it is the chat's state).

    ``muted``: every rule of the alert that the chat follows is muted here; ``muted_until``
    is when the last of those mutes ends (None: until unmuted), ``ends_another_day`` whether
    that is on another day than today in the chat's time zone (the label then shows the date)."""

    muted: bool = False
    muted_until: datetime | None = None
    ends_another_day: bool = False
    unsubscribed: bool = False
    not_relevant: bool = False


def mute_label(action: AlertAction, language: Language | None = None) -> str:
    """How long ``action`` mutes, in ``language``: "1 h", "1 day", "until unmuted"."""
    return i18n.text(language, MUTE_LABELS[action])


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
    delivery_id: int,
    link: str | None,
    state: AlertButtonState = AlertButtonState(),
    *,
    language: Language | None = None,
    tz: ZoneInfo = _UTC,
) -> InlineKeyboardMarkup:
    """The keyboard of the alert sent from outbox row ``delivery_id``, as ``state`` says, with
    labels in ``language`` and the end of a mute shown in ``tz`` (the chat's)."""

    def button(key: str, action: AlertAction, **values: object) -> InlineKeyboardButton:
        label = i18n.text(language, key, **values)
        return InlineKeyboardButton(label, callback_data=callback(action, delivery_id))

    rows: list[list[InlineKeyboardButton]] = []
    if state.unsubscribed:
        rows.append(
            [
                button("alertbutton.unsubscribed", AlertAction.NOTED),
                button("alertbutton.resubscribe", AlertAction.RESUBSCRIBE),
            ]
        )
    elif state.muted:
        pattern = "date.alert_until_day" if state.ends_another_day else "date.alert_until"
        until = (
            moment(language, pattern, state.muted_until, tz)
            if state.muted_until is not None
            else mute_label(AlertAction.MUTE_OFF, language)
        )
        rows.append(
            [
                button("alertbutton.muted", AlertAction.NOTED, until=until),
                button("alertbutton.unmute", AlertAction.UNMUTE),
            ]
        )
    else:
        rows.append(
            [button("alertbutton.mute", a, duration=mute_label(a, language)) for a in MUTE_SECONDS]
        )
        rows.append([button("alertbutton.unsubscribe", AlertAction.UNSUBSCRIBE)])
    last = [
        button("alertbutton.marked", AlertAction.NOTED)
        if state.not_relevant
        else button("alertbutton.not_relevant", AlertAction.NOT_RELEVANT)
    ]
    href = safe_link(link)
    if href is not None:
        last.append(InlineKeyboardButton(i18n.text(language, "alertbutton.open"), url=href))
    rows.append(last)
    return InlineKeyboardMarkup(rows)
