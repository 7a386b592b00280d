"""What webhook mode keeps in storage: the Telegram updates replicas accepted (the inbox).

A separate protocol, like ``storage.trends``, so the webhook does not widen ``Storage`` (and
every fake of it); ``SqlStorage`` implements both (``storage.sql.updates``). Any replica
accepts an update (``accept_update``): the row's primary key, the ``update_id``, makes a second
delivery of the same update a no-op, whichever replica it reaches. The sender replica takes
waiting updates in ``update_id`` order (``take_updates``) and answers them. Does not parse
updates or answer them (``bot.telegram.webhook`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    """One accepted update: its id and its JSON as Telegram sent it."""

    update_id: int
    payload: str


class UpdateInbox(Protocol):
    """The webhook's inbox of updates."""

    async def accept_update(self, update_id: int, payload: str, now: datetime) -> bool:
        """Store an update delivered to the webhook: True when it is new, False when this
        ``update_id`` was accepted before (a repeated delivery: answered once already or
        about to be). On PostgreSQL the sender hears of it at commit (NOTIFY)."""

    async def take_updates(self, now: datetime, limit: int = 100) -> list[StoredUpdate]:
        """Mark up to ``limit`` waiting updates taken and return them, lowest ``update_id``
        first. An update is taken once: two takers never get the same one, and a taken update
        is never returned again (if its taker dies mid-answer it stays unanswered: a command
        answered twice is worse than one the user repeats)."""

    async def prune_updates(self, before: datetime) -> int:
        """Delete taken updates accepted before ``before``; how many went. Kept until then so
        that a late repeat of a delivery is still recognised."""

    async def listen_for_updates(self, wake: Callable[[], None]) -> None:
        """While leading (PostgreSQL): ``wake()`` whenever any replica accepted an update."""
