"""The seam between the sender and whatever shows a message (Telegram, or the console).

``AlertSink`` sends one message and reports one ``SendOutcome``; what to do with the outcome
(mark sent, retry later, pause a gone chat, follow a migration, drop a refused message) is the
outbox's policy, not the sink's. ``DeferredSink`` stands in until Telegram is connected.
Does not touch storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.models import Delivery, RenderedMessage, RuleInfo


class SendStatus(StrEnum):
    SENT = "sent"  # the platform accepted the message
    RETRY = "retry"  # temporary failure: try again after ``retry_after_s`` (or a backoff)
    UNAVAILABLE = "unavailable"  # the platform is not connected yet: try again shortly
    CHAT_GONE = "chat_gone"  # the chat blocked or removed the bot: stop sending to it
    FAILED = "failed"  # permanent failure for this one message


@dataclass(frozen=True, slots=True)
class SendOutcome:
    status: SendStatus
    message_id: int | None = None
    retry_after_s: float | None = None
    error: str | None = None
    new_chat_id: int | None = None  # set when a group migrated to a supergroup


class AlertSink(Protocol):
    """Something that shows alerts to chats. Does not touch storage."""

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        """Show one alert (or edit the message of an earlier one)."""

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        """Show a digest (several alerts folded into one message, maybe in pages), in order."""


@runtime_checkable
class ChartSink(Protocol):
    """A sink that can also show a picture with a caption (a trend alert's chart). A sink
    without it gets the caption alone, through ``send_digest`` (the outbox decides)."""

    async def send_chart(
        self,
        chat_id: int,
        png: bytes,
        caption: RenderedMessage,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SendOutcome:
        """Show ``png`` with ``caption`` (at most 1,024 visible characters) in the chat."""


class DeferredSink:
    """Stands in for a sink that is not connected yet: every send is "retry later" until
    ``target`` is set, so alerts wait safely in the outbox."""

    def __init__(self) -> None:
        self.target: AlertSink | None = None

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        if self.target is None:
            return SendOutcome(SendStatus.UNAVAILABLE, error="not connected to Telegram yet")
        return await self.target.deliver(delivery, rules)

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        if self.target is None:
            return SendOutcome(SendStatus.UNAVAILABLE, error="not connected to Telegram yet")
        return await self.target.send_digest(chat_id, messages, thread_id)

    async def send_chart(
        self,
        chat_id: int,
        png: bytes,
        caption: RenderedMessage,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SendOutcome:
        if self.target is None:
            return SendOutcome(SendStatus.UNAVAILABLE, error="not connected to Telegram yet")
        if isinstance(self.target, ChartSink):
            return await self.target.send_chart(chat_id, png, caption, thread_id, reply_to)
        return await self.target.send_digest(chat_id, [caption], thread_id)
