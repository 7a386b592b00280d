"""Command replies: sent at once, through the same sink, pacing and outcome policy as alerts.

A reply answers someone who is waiting, so it is not queued in the outbox: it is sent now
through ``TelegramSink.send`` (the same fallbacks and error mapping as alerts, paced by the
bot's rate limiter), and its outcome goes through ``bot.delivery.outcomes`` like an alert's: a
gone chat is paused, a migrated chat is followed (and the reply sent there), and a short
``retry_after`` is waited out once. A reply that still cannot be sent is logged and dropped:
by the time Telegram takes it again, the person has moved on (and can ask again).

Does not decide what to reply; the Telegram handlers do.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardMarkup

from bot.delivery.outcomes import apply_to_chat
from bot.delivery.sink import SendOutcome, SendStatus
from bot.delivery.telegram_sink import TelegramSink
from core.models import RenderedMessage
from storage.base import Storage

log = logging.getLogger(__name__)

WAIT_UP_TO_S = 30.0  # a reply held back longer than this by a 429 is not worth sending late
_TAG_RE = re.compile(r"<[^>]*>")


def html_to_plain(text: str) -> str:
    """The plain-text fallback of a reply written in Telegram HTML (tags dropped, entities
    decoded): what is sent if Telegram ever refuses the HTML."""
    return html.unescape(_TAG_RE.sub("", text))


class ReplySender:
    """Sends and edits the bot's replies to commands and buttons. One per Telegram bot."""

    def __init__(
        self,
        sink: TelegramSink,
        storage: Storage,
        *,
        wait_up_to_s: float = WAIT_UP_TO_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sink = sink
        self._storage = storage
        self._wait_up_to_s = wait_up_to_s
        self._sleep = sleep

    async def send(
        self,
        chat_id: int,
        text_html: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        buttons: InlineKeyboardMarkup | None = None,
        edit_of: int | None = None,
    ) -> SendOutcome:
        """Send one reply (or edit message ``edit_of``); returns what finally happened."""
        message = RenderedMessage(text_html, html_to_plain(text_html), disable_notification=False)
        outcome = SendOutcome(SendStatus.FAILED, error="not sent")
        for _ in range(2):  # the first try, and one more after a migration or a short 429
            outcome = await self._sink.send(
                chat_id,
                message,
                thread_id=thread_id,
                edit_of=edit_of,
                reply_to=reply_to,
                buttons=buttons,
            )
            if outcome.status is SendStatus.SENT:
                return outcome
            await apply_to_chat(self._storage, chat_id, outcome)
            if outcome.new_chat_id is not None:
                # The message ids of the old chat mean nothing in the new one.
                chat_id, reply_to, edit_of, thread_id = outcome.new_chat_id, None, None, None
                continue
            wait = outcome.retry_after_s
            if (
                outcome.status is SendStatus.RETRY
                and wait is not None
                and wait <= self._wait_up_to_s
            ):
                await self._sleep(wait)
                continue
            break
        log.warning(
            "reply not sent (%s): %s",
            outcome.status.value,
            outcome.error or "no detail",
            extra={"chat": chat_id},
        )
        return outcome

    async def edit_buttons(
        self, chat_id: int, message_id: int, buttons: InlineKeyboardMarkup | None
    ) -> SendOutcome:
        """Replace the keyboard under message ``message_id`` (the text stays); a failure is
        logged and returned, not retried: the press was already answered."""
        outcome = await self._sink.edit_buttons(chat_id, message_id, buttons)
        if outcome.status is not SendStatus.SENT:
            await apply_to_chat(self._storage, chat_id, outcome)
            log.warning(
                "keyboard not edited (%s): %s",
                outcome.status.value,
                outcome.error or "no detail",
                extra={"chat": chat_id},
            )
        return outcome

    async def send_file(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        caption_html: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SendOutcome:
        """Send a file (an export) at once; a failure goes through the outcome policy and is
        logged, not retried (the person can ask again)."""
        outcome = await self._sink.send_file(
            chat_id, filename, data, caption_html, thread_id=thread_id, reply_to=reply_to
        )
        if outcome.status is not SendStatus.SENT:
            await apply_to_chat(self._storage, chat_id, outcome)
            log.warning(
                "file not sent (%s): %s",
                outcome.status.value,
                outcome.error or "no detail",
                extra={"chat": chat_id},
            )
        return outcome

    async def send_chart(
        self,
        chat_id: int,
        png: bytes,
        caption_html: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SendOutcome:
        """Send a chart (PNG) with an HTML caption of at most 1,024 visible characters, under
        the same outcome policy as ``send``; returns what finally happened."""
        caption = RenderedMessage(caption_html, html_to_plain(caption_html), False)
        outcome = SendOutcome(SendStatus.FAILED, error="not sent")
        for _ in range(2):  # the first try, and one more after a migration or a short 429
            outcome = await self._sink.send_chart(chat_id, png, caption, thread_id, reply_to)
            if outcome.status is SendStatus.SENT:
                return outcome
            await apply_to_chat(self._storage, chat_id, outcome)
            if outcome.new_chat_id is not None:
                chat_id, reply_to, thread_id = outcome.new_chat_id, None, None
                continue
            wait = outcome.retry_after_s
            short = wait is not None and wait <= self._wait_up_to_s
            if outcome.status is SendStatus.RETRY and wait is not None and short:
                await self._sleep(wait)
                continue
            break
        log.warning(
            "chart reply not sent (%s): %s",
            outcome.status.value,
            outcome.error or "no detail",
            extra={"chat": chat_id},
        )
        return outcome
