"""The buttons the handlers share: building a page's inline keyboard, and the preamble every
button press goes through.

Building: ``button(label, *data)`` (callback data joined with ``:``; Telegram allows 64 bytes),
``checked(label, on)`` (a ``✓`` before the chosen value), ``nav_row(page, pages, back,
forward, data)`` (◀ ▶ between pages) and ``keyboard(rows)`` (None when there is no button).

Pressing: ``pressed(services, out, update, again, fields)`` deals with a press that has nothing
to act on (no data; a stranger, refused; a message too old to edit, told to send ``again``) and
otherwise gives a ``Press``: the query, its message and chat, the chat's language and the
callback data's fields. ``unsupported(press, again)`` answers a button this version no longer
knows. Composes no page, checks no group rights (``access.may_press``) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram import Chat as TgChat

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import gate
from core.models import Language

MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit


def button(label: str, *data: object) -> InlineKeyboardButton:
    """A button whose callback data is ``data`` joined with ``:`` (``button("Next", "p", 2)``
    -> ``p:2``)."""
    joined = ":".join(str(d) for d in data)
    if len(joined.encode()) > MAX_CALLBACK_DATA:
        raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes: {joined!r}")
    return InlineKeyboardButton(label, callback_data=joined)


def checked(label: str, on: bool) -> str:
    """``label`` marked as the chosen value (``✓ label``) when ``on``."""
    return f"✓ {label}" if on else label


def nav_row(
    page: int, pages: int, back: str, forward: str, data: Callable[[int], Sequence[object]]
) -> list[InlineKeyboardButton]:
    """``back`` and ``forward`` buttons for page ``page`` (from 0) of ``pages``, each only where
    there is a page to go to; ``data(n)`` is the callback data that shows page ``n``."""
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(button(back, *data(page - 1)))
    if page < pages - 1:
        row.append(button(forward, *data(page + 1)))
    return row


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    """The rows that have buttons, as a keyboard; None when none has."""
    kept = [list(row) for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


@dataclass(frozen=True, slots=True)
class Press:
    """A button press worth acting on."""

    query: CallbackQuery
    message: Message
    chat: TgChat
    lang: Language | None
    """The language of the chat the button is in (its ``/settings``)."""
    parts: tuple[str, ...]
    """The callback data split on ``:``: its prefix, then exactly ``fields`` fields (missing
    ones are ``""``; the last keeps any further ``:``)."""

    @property
    def kind(self) -> str:
        return self.parts[0]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.parts[1:]


async def pressed(
    services: Services, out: ReplySender, update: Update, again: str, fields: int = 2
) -> Press | None:
    """The press in ``update``, or None after answering it: no data (nothing to say), a
    stranger (``access.gate``'s refusal) or a message too old to edit ("send ``again``
    again", ``again`` being the command that makes a fresh one, e.g. ``/rules``)."""
    query = update.callback_query
    if query is None or query.data is None:
        return None
    chat = update.effective_chat
    lang = services.chat_prefs.get(chat.id).language if chat is not None else None
    if not await gate(services.settings, out, update, lang):
        return None
    message = query.message if isinstance(query.message, Message) else None
    if message is None or not message.is_accessible:  # deleted, or too old (date 0)
        await query.answer(text(lang, "press.too_old", command=again), show_alert=True)
        return None
    parts = [*query.data.split(":", fields), *([""] * fields)][: fields + 1]
    return Press(query, message, message.chat, lang, tuple(parts))


async def unsupported(press: Press, again: str) -> None:
    """Answer a button this version does not know (an old or forged one)."""
    await press.query.answer(text(press.lang, "press.unsupported", command=again))
