"""The storage seam: what the rest of newswatch may ask of a database.

One protocol, implemented once over SQLAlchemy Core for both SQLite and PostgreSQL. Callers
never see SQL, sessions or driver errors; driver errors are wrapped in ``StorageError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.models import Article, Chat, Delivery, FeedConfig, FeedState, RuleMatch


class IngestStatus(StrEnum):
    NEW = "new"  # first time this article identity was seen
    UPDATED = "updated"  # known identity, title or text changed: recorded as an edit
    UNCHANGED = "unchanged"  # known identity, nothing changed


@dataclass(frozen=True, slots=True)
class IngestResult:
    article_id: int
    status: IngestStatus
    new_matches: int  # matches (rule, article) created by this call
    new_deliveries: int  # outbox rows created by this call


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """A match as listed by ``/recent`` and export."""

    rule_id: str
    article_id: int
    title: str
    link: str | None
    feed_url: str
    matched_at: datetime


class Storage(Protocol):
    """Everything the watchers, the pipeline and the bot need from the database."""

    async def open(self) -> None:
        """Connect and bring the schema up to date (runs migrations)."""

    async def close(self) -> None: ...

    # feeds ---------------------------------------------------------------------------------
    async def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        """Make the stored feed list match the configuration; keeps validators and health."""

    async def due_feeds(self, now: datetime, limit: int = 100) -> list[FeedState]:
        """Enabled feeds whose next check time has come, earliest first."""

    async def get_feed(self, url: str) -> FeedState | None: ...

    async def list_feeds(self) -> list[FeedState]: ...

    async def save_feed_state(self, state: FeedState) -> None:
        """Persist validators, schedule and health after a poll."""

    # articles and matches ------------------------------------------------------------------
    async def ingest(
        self, article: Article, matches: Sequence[RuleMatch], now: datetime, *, alert: bool = True
    ) -> IngestResult:
        """Store an article and its matches, and queue deliveries, in one transaction.

        Unique constraints carry exactly-once: one article per identity, one match per
        (rule, article), one delivery per (chat, article). With ``alert=False`` (a feed's first
        poll) matches are stored but no deliveries are queued.
        """

    # chats and subscriptions ---------------------------------------------------------------
    async def upsert_chat(self, chat: Chat) -> None: ...

    async def subscribe(self, chat_id: int, rule_id: str, thread_id: int | None = None) -> bool:
        """Subscribe; False when the chat already was."""

    async def unsubscribe(self, chat_id: int, rule_id: str) -> bool:
        """Unsubscribe; False when the chat was not subscribed."""

    async def subscriptions(self, chat_id: int) -> list[str]:
        """Rule ids the chat is subscribed to, sorted."""

    # outbox --------------------------------------------------------------------------------
    async def due_deliveries(self, now: datetime, limit: int = 50) -> list[Delivery]:
        """Pending deliveries whose next attempt has come, oldest first (also "sending" ones
        left by a crash: the caller decides to resend them)."""

    async def mark_sending(self, delivery_id: int, now: datetime) -> None: ...

    async def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> None: ...

    async def mark_retry(
        self, delivery_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None: ...

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> None:
        """Give up on one delivery for good (recorded with its error)."""
