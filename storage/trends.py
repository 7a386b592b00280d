"""What trend alerts keep in storage, beyond the ``Storage`` protocol: which chats opted in to
which rule's spike alerts (``/trend RULE on``), and the trend alerts queued in the outbox.

A separate protocol, like ``storage.console``, so trend alerts do not widen ``Storage`` (and
every fake of it); ``SqlStorage`` implements both. Does not judge spikes or draw charts
(``bot.trends`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.models import RenderedMessage


@dataclass(frozen=True, slots=True)
class TrendWatch:
    """One chat's opt-in to one rule's spike alerts."""

    chat_id: int
    rule_id: str
    thread_id: int | None  # the forum topic the opt-in was made in
    last_spike_at: datetime | None  # first bucket of the last spike alerted; None: never


class TrendWatches(Protocol):
    """Trend opt-ins and trend alerts (``storage.sql.trends`` implements them)."""

    async def set_trend_watch(
        self, chat_id: int, rule_id: str, on: bool, now: datetime, thread_id: int | None = None
    ) -> bool:
        """Opt ``chat_id`` in to (``on``) or out of ``rule_id``'s spike alerts; True when that
        changed something. Opting in again keeps the memory of the last spike alerted."""

    async def trend_watches(self, chat_id: int | None = None) -> list[TrendWatch]:
        """The opt-ins of one chat (or of every chat), by chat then rule."""

    async def spike_watchers(self, rule_id: str, now: datetime) -> list[TrendWatch]:
        """The opt-ins to ``rule_id`` that a spike alert goes to now: the chat is active, still
        subscribed to the rule, and not muted."""

    async def queue_trend(
        self,
        watches: Sequence[TrendWatch],
        spike_at: datetime,
        caption: RenderedMessage,
        png: bytes,
        now: datetime,
    ) -> int:
        """Queue one trend alert (caption and chart) for each of ``watches`` not yet alerted
        about the spike that began at ``spike_at``, and remember it, in one transaction; how
        many were queued. Calling it again for the same spike queues nothing."""
