"""Our pacer as python-telegram-bot's rate limiter: every request PTB makes passes here.

``PacedRateLimiter`` plugs ``bot.delivery.pacing.SendPacer`` into PTB's ``BaseRateLimiter``
hook, so the Bot API sees one pacing for the whole process: alerts and digests from the
outbox, command replies, and the calls PTB makes on a handler's behalf.

- Requests that put a message in a chat (``send*``, ``edit*``, ``copyMessage*``,
  ``forwardMessage*``) take a pacer slot for their ``chat_id``: about 30 a second for the bot,
  one a second per private chat, 20 a minute per group or channel (``@username`` targets count
  as groups: only supergroups and channels have them).
- Other requests (``getMe``, ``getChatMember``, ``answerCallbackQuery``, ``setMyCommands`` …)
  are not messages and are not counted against the limits, but they do wait while Telegram has
  told us to hold off (a 429 with ``retry_after``). ``getUpdates`` never comes here (PTB does
  not rate-limit it).
- A 429 (``RetryAfter``) holds the chat (or the whole bot, for a request without a chat) in
  the pacer for ``retry_after`` seconds. Message requests are then *not* retried here: the
  error goes back to the sender in ``bot.delivery``, whose outcome policy decides (an outbox
  row is retried later; nothing is lost or sent twice by a hidden retry). Other requests are
  retried once after the hold when it is short (``RETRY_OTHER_UP_TO_S``), as a user waiting on
  a button would want. ``rate_limit_args={"max_retries": N}`` on a call overrides both.

Does not decide what to send, format anything or touch storage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import BaseRequest

from bot.delivery.pacing import ChatKey, SendPacer
from bot.delivery.telegram_sink import retry_after_seconds

log = logging.getLogger(__name__)

RateLimitArgs = dict[str, int]
"""``{"max_retries": N}``: how often to retry this request after a 429 (others are ignored)."""

RETRY_OTHER_UP_TO_S = 30.0
_MESSAGE_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage")

ApiResult = bool | dict[str, Any] | list[dict[str, Any]]


def is_message_endpoint(endpoint: str) -> bool:
    """True for Bot API methods that put (or change) a message in a chat."""
    return endpoint.startswith(_MESSAGE_PREFIXES)


def chat_key(chat_id: object) -> ChatKey | None:
    """The pacer's key for a request's ``chat_id`` (an int, a numeric string or ``@name``)."""
    if isinstance(chat_id, bool) or chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(chat_id, str):
        text = chat_id.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        return text or None
    return None


class PacedRateLimiter(BaseRateLimiter[RateLimitArgs]):
    """PTB's rate-limiter hook, backed by one ``SendPacer`` for the process."""

    __slots__ = ("_pacer",)

    def __init__(self, pacer: SendPacer | None = None) -> None:
        self._pacer = pacer or SendPacer()

    @property
    def pacer(self) -> SendPacer:
        return self._pacer

    async def initialize(self) -> None:
        """Nothing to set up: the pacer needs no resources."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> ApiResult:
        key = chat_key(data.get("chat_id"))
        message = is_message_endpoint(endpoint) and key is not None
        retries = (rate_limit_args or {}).get("max_retries")
        attempt = 0
        while True:
            try:
                if message:
                    assert key is not None
                    async with self._pacer.slot(key):
                        return await callback(*args, **kwargs)
                await self._pacer.wait_until_released(key)
                return await callback(*args, **kwargs)
            except RetryAfter as e:
                seconds = retry_after_seconds(e)
                self._pacer.hold(key, seconds)
                allowed = retries if retries is not None else (0 if message else 1)
                if attempt >= allowed or (retries is None and seconds > RETRY_OTHER_UP_TO_S):
                    raise
                attempt += 1
                log.info(
                    "%s: Telegram asked to wait %.0f s; retrying",
                    endpoint,
                    seconds,
                    extra={"chat": key},
                )
                await asyncio.sleep(seconds)


def paced_bot(
    token: str,
    *,
    base_url: str,
    pacer: SendPacer | None = None,
    request: BaseRequest | None = None,
) -> ExtBot[RateLimitArgs]:
    """A bare bot (no Application) whose every request is paced by ``pacer``: what the
    Application builds in ``bot.telegram.runtime``, for tools and tests that send alone."""
    return ExtBot(token, base_url=base_url, request=request, rate_limiter=PacedRateLimiter(pacer))
