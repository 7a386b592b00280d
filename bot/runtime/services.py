"""The running application's parts, and the seams between them.

``Services`` is handed to the pipeline, the outbox sender and the Telegram handlers, so each
reaches storage, the current rules, settings and the clock the same way. ``AlertSink`` is the
seam between the outbox and whatever shows an alert (Telegram, or the console offline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.config.settings import FeedsConfig, Settings
from core.clock import Clock
from core.models import Delivery, RuleInfo
from storage.base import Storage

if TYPE_CHECKING:
    from bot.delivery.alert_format import AlertMessage
    from rules import RuleSet


class RuleHolder:
    """Holds the rule set in force; a reload swaps it in one assignment (atomic for asyncio)."""

    def __init__(self, initial: RuleSet) -> None:
        self._current = initial

    @property
    def current(self) -> RuleSet:
        return self._current

    def swap(self, new: RuleSet) -> RuleSet:
        """Put ``new`` in force and return the rule set it replaced."""
        old, self._current = self._current, new
        return old


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
        self, chat_id: int, messages: Sequence[AlertMessage], thread_id: int | None = None
    ) -> SendOutcome:
        """Show a digest (several alerts folded into one message, maybe in pages), in order."""


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
        self, chat_id: int, messages: Sequence[AlertMessage], thread_id: int | None = None
    ) -> SendOutcome:
        if self.target is None:
            return SendOutcome(SendStatus.UNAVAILABLE, error="not connected to Telegram yet")
        return await self.target.send_digest(chat_id, messages, thread_id)


@dataclass(slots=True)
class Services:
    settings: Settings
    feeds: FeedsConfig
    storage: Storage
    rules: RuleHolder
    clock: Clock
