"""Every message the handlers send or edit goes through the functions here, and from here
through ``bot.delivery.replies.ReplySender``: the one sink, pacing and outcome policy.

``reply`` answers a command in Telegram HTML (split into messages of at most 4,000 characters,
the buttons under the last one), in the command's chat and forum topic, quoting the command in
groups as Telegram clients do; ``refuse_stranger`` and ``apologise`` answer in plain text;
``redraw`` edits a rules page in place after a button press; ``send_file`` answers with a
document (/export); ``reply_chart`` answers with a chart (a photo with a caption). Does not
decide what to say: the callers compose every text and keyboard, and answer callback queries
themselves.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

from bot.delivery.replies import ReplySender
from bot.delivery.sink import SendStatus

log = logging.getLogger(__name__)

MAX_REPLY = 4000  # visible characters per reply message (Telegram allows 4,096)


async def reply(
    out: ReplySender, update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer in the update's chat (and topic) with HTML ``text``, paged; no link previews."""
    message = update.effective_message
    if message is None:
        return
    pages = _chunks(text.split("\n"))
    for i, page in enumerate(pages):
        await _answer(out, message, page, markup if i == len(pages) - 1 else None)


async def refuse_stranger(out: ReplySender, update: Update, text: str) -> None:
    """Tell someone outside the allowlist, in plain text, that the bot is not for them."""
    message = update.effective_message
    if message is not None:
        await _answer(out, message, html.escape(text, quote=False), None)


async def apologise(out: ReplySender, update: Update, text: str) -> None:
    """Tell the chat, in plain text, that its command failed; a failure here is only logged,
    because the error handler has nobody left to report it to."""
    message = update.effective_message
    if message is None:
        return
    try:
        await _answer(out, message, html.escape(text, quote=False), None)
    except Exception:
        # The database may be what failed: the outcome policy could not record anything.
        log.warning("could not report the error to the chat", exc_info=True)


async def redraw(
    out: ReplySender, query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace the message under a pressed button with ``text`` (HTML) and ``markup``. A press
    that changes nothing redraws the same page, which the sink counts as done."""
    message = query.message
    if not isinstance(message, Message):
        return  # an inline-mode message: the bot never sends those
    await out.send(message.chat_id, text, buttons=markup, edit_of=message.message_id)


async def send_to(
    out: ReplySender, message: Message, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Send HTML ``text`` as a new message next to ``message`` (same chat and topic, paged),
    for a button press whose answer is more to read rather than a changed page."""
    pages = _chunks(text.split("\n"))
    for i, page in enumerate(pages):
        await out.send(
            message.chat_id,
            page,
            thread_id=message.message_thread_id if message.is_topic_message else None,
            buttons=markup if i == len(pages) - 1 else None,
        )


async def send_file(
    out: ReplySender, update: Update, filename: str, data: bytes, caption_html: str
) -> bool:
    """Answer a command with a file (an export) in its chat and topic; False when it could
    not be sent (the caller says so in text)."""
    message = update.effective_message
    if message is None:
        return False
    outcome = await out.send_file(
        message.chat_id,
        filename,
        data,
        caption_html,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_to=message.message_id if message.chat.type != ChatType.PRIVATE else None,
    )
    return outcome.status is SendStatus.SENT


async def _answer(
    out: ReplySender, message: Message, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    # As Message.reply_text does: stay in the forum topic, quote the command outside private
    # chats (so a group sees what is being answered).
    await out.send(
        message.chat_id,
        text,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_to=message.message_id if message.chat.type != ChatType.PRIVATE else None,
        buttons=markup,
    )


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


async def reply_chart(out: ReplySender, update: Update, png: bytes, caption: str) -> None:
    """Answer with a chart (PNG) and an HTML ``caption`` (at most 1,024 visible characters:
    the caller's to keep), in the command's chat and topic, quoting the command in groups."""
    message = update.effective_message
    if message is None:
        return
    await out.send_chart(
        message.chat_id,
        png,
        caption,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_to=message.message_id if message.chat.type != ChatType.PRIVATE else None,
    )
