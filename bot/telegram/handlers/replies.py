"""Every message the handlers send or edit goes through the four functions here.

``reply`` answers a command in Telegram HTML (split into messages of at most 4,000 characters,
the buttons under the last one); ``refuse_stranger`` and ``apologise`` answer in plain text;
``redraw`` edits a rules page in place after a button press. Does not decide what to say: the
callers compose every text and keyboard, and answer callback queries themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

log = logging.getLogger(__name__)

MAX_REPLY = 4000  # visible characters per reply message (Telegram allows 4,096)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the update's chat (and topic) with HTML ``text``, paged; no link previews."""
    message = update.effective_message
    if message is None:
        return
    pages = _chunks(text.split("\n"))
    for i, page in enumerate(pages):
        await message.reply_text(
            page,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if i == len(pages) - 1 else None,
            link_preview_options=_NO_PREVIEW,
        )


async def refuse_stranger(update: Update, text: str) -> None:
    """Tell someone outside the allowlist, in plain text, that the bot is not for them."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text)


async def apologise(update: Update, text: str) -> None:
    """Tell the chat, in plain text, that its command failed; a failure here is only logged,
    because the error handler has nobody left to report it to."""
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_text(text)
    except TelegramError:
        log.warning("could not report the error to the chat")


async def redraw(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the message under a pressed button with ``text`` (HTML) and ``markup``."""
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as e:
        # Pressing a button that changes nothing redraws the same page; Telegram refuses that.
        if "not modified" not in e.message.lower():
            raise


def _chunks(lines: Sequence[str], limit: int = MAX_REPLY) -> list[str]:
    """Join lines into messages of at most ``limit`` characters (lines are kept whole)."""
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if current and size + len(line) + 1 > limit:
            pages.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        pages.append("\n".join(current))
    return pages
