"""Alerts printed to a terminal: the offline stand-in for Telegram (no token set).

The console is modelled as one chat (``CONSOLE_CHAT_ID``) subscribed to every rule, so alerts
go through the same outbox, with the same exactly-once bookkeeping, as Telegram alerts do.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.delivery.sink import SendOutcome, SendStatus
from bot.delivery.story_format import format_delivery
from core.models import Delivery, DeliveryKind, RenderedMessage, RuleInfo

CONSOLE_CHAT_ID = 0
_RULE = "─" * 72


class ConsoleSink:
    """Prints each alert as plain text. Never fails a delivery unless the stream is closed."""

    def __init__(self, tz: ZoneInfo, out: TextIO | None = None) -> None:
        self._tz = tz
        self._out = out or sys.stdout
        self._count = 0

    @property
    def count(self) -> int:
        """Alerts printed so far."""
        return self._count

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        message = format_delivery(delivery, {r.id: r for r in rules}, self._tz)
        kind = {DeliveryKind.EDIT: "UPDATED", DeliveryKind.SOURCES: "SOURCES ADDED"}.get(
            delivery.kind, "REPLY" if delivery.kind is DeliveryKind.REPLY else "ALERT"
        )
        return self._print(kind, [message])

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        return self._print("DIGEST", messages)

    async def send_chart(
        self,
        chat_id: int,
        png: bytes,
        caption: RenderedMessage,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SendOutcome:
        """A terminal shows no picture: the caption, and the chart's size."""
        shown = RenderedMessage(
            caption.html,
            f"{caption.plain}\n[chart: PNG, {len(png):,} bytes]",
            caption.disable_notification,
        )
        return self._print("TREND", [shown])

    def _print(self, kind: str, messages: Sequence[RenderedMessage]) -> SendOutcome:
        try:
            for message in messages:
                self._out.write(f"{_RULE}\n{kind}\n{message.plain}\n")
            self._out.flush()
        except (OSError, ValueError) as e:
            return SendOutcome(SendStatus.RETRY, error=f"console unavailable: {e}")
        self._count += len(messages)
        return SendOutcome(SendStatus.SENT, message_id=self._count)
