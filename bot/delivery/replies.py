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
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot.delivery.outcomes import apply_to_chat
from bot.delivery.sink import SendOutcome, SendStatus
from bot.delivery.telegram_sink import TelegramSink
from bot.services import ChatPrefs
from core.models import RenderedMessage
from storage.base import Storage

log = logging.getLogger(__name__)

WAIT_UP_TO_S = 30.0  # a reply held back longer than this by a 429 is not worth sending late
_TAG_RE = re.compile(r"<[^>]*>")


def html_to_plain(text: str) -> str:
    """The plain-text fallback of a reply written in Telegram HTML (tags dropped, entities
    decoded): what is sent if Telegram ever refuses the HTML."""
    return html.unescape(_TAG_RE.sub("", text))


@dataclass(frozen=True)
class _Target:
    """Where a reply goes; a migrated chat gets a fresh target (the old chat's message and
    topic ids mean nothing in the new one)."""

    chat_id: int
    thread_id: int | None = None
    reply_to: int | None = None
    edit_of: int | None = None


class ReplySender:
    """Sends and edits the bot's replies to commands and buttons. One per Telegram bot."""

    def __init__(
        self,
        sink: TelegramSink,
        storage: Storage,
        *,
        wait_up_to_s: float = WAIT_UP_TO_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        prefs: ChatPrefs | None = None,
    ) -> None:
        self._sink = sink
        self._prefs = prefs
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

        def attempt(to: _Target) -> Awaitable[SendOutcome]:
            return self._sink.send(
                to.chat_id,
                message,
                thread_id=to.thread_id,
                edit_of=to.edit_of,
                reply_to=to.reply_to,
                buttons=buttons,
            )

        return await self._with_policy(
            "reply", _Target(chat_id, thread_id, reply_to, edit_of), attempt, retry=True
        )

    async def edit_buttons(
        self, chat_id: int, message_id: int, buttons: InlineKeyboardMarkup | None
    ) -> SendOutcome:
        """Replace the keyboard under message ``message_id`` (the text stays); a failure is
        logged and returned, not retried: the press was already answered."""
        return await self._with_policy(
            "keyboard edit",
            _Target(chat_id),
            lambda to: self._sink.edit_buttons(to.chat_id, message_id, buttons),
            retry=False,
        )

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
        return await self._with_policy(
            "file",
            _Target(chat_id, thread_id, reply_to),
            lambda to: self._sink.send_file(
                to.chat_id,
                filename,
                data,
                caption_html,
                thread_id=to.thread_id,
                reply_to=to.reply_to,
            ),
            retry=False,
        )

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
        return await self._with_policy(
            "chart reply",
            _Target(chat_id, thread_id, reply_to),
            lambda to: self._sink.send_chart(to.chat_id, png, caption, to.thread_id, to.reply_to),
            retry=True,
        )

    async def _with_policy(
        self,
        what: str,
        target: _Target,
        attempt: Callable[[_Target], Awaitable[SendOutcome]],
        *,
        retry: bool,
    ) -> SendOutcome:
        """Run ``attempt`` under the outcome policy: a failure is applied to the chat (paused,
        migrated) and logged. With ``retry``, one more try follows a migration (to the new
        chat) or a ``retry_after`` of at most ``wait_up_to_s`` (after waiting it out)."""
        outcome = SendOutcome(SendStatus.FAILED, error="not sent")
        for _ in range(2 if retry else 1):
            outcome = await attempt(target)
            if outcome.status is SendStatus.SENT:
                return outcome
            await apply_to_chat(self._storage, target.chat_id, outcome, prefs=self._prefs)
            if not retry:
                break
            if outcome.new_chat_id is not None:
                target = _Target(outcome.new_chat_id)
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
            "%s not sent (%s): %s",
            what,
            outcome.status.value,
            outcome.error or "no detail",
            extra={"chat": target.chat_id},
        )
        return outcome
