"""The storage seam: what the rest of newswatch may ask of a database.

One protocol, implemented once over SQLAlchemy Core for both SQLite and PostgreSQL. Callers
never see SQL, sessions or driver errors; driver errors are wrapped in ``StorageError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol, TextIO

from core.models import (
    Article,
    Chat,
    ChatSettings,
    Delivery,
    DeliveryMode,
    FeedConfig,
    FeedState,
    Hit,
    RenderedMessage,
    RuleMatch,
    StoryPlacement,
    StorySource,
)
from storage.explain import Explainer
from storage.self_service import AlertRef as AlertRef
from storage.self_service import Feedback as Feedback
from storage.self_service import PersonalRule as PersonalRule
from storage.self_service import personal_rule_id as personal_rule_id

ExportFormat = Literal["csv", "jsonl"]


class IngestStatus(StrEnum):
    NEW = "new"  # first time this article identity was seen
    UPDATED = "updated"  # known identity, title or text changed: recorded as an edit
    UNCHANGED = "unchanged"  # known identity, nothing changed


@dataclass(frozen=True, slots=True)
class IngestResult:
    article_id: int
    status: IngestStatus
    new_matches: int  # matches (rule, article) created by this call
    # outbox rows created by this call (and a story's sent alert re-queued to list a new source)
    new_deliveries: int


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """A match as listed by ``/recent`` and export."""

    rule_id: str
    article_id: int | None  # None once the article was pruned (matches are kept longer)
    title: str
    link: str | None
    feed_url: str
    matched_at: datetime
    published_at: datetime | None = None
    hits: tuple[Hit, ...] = ()


@dataclass(frozen=True, slots=True)
class Subscription:
    """One chat's subscription to one rule, as ``/list`` and the digest scheduler see it."""

    chat_id: int
    rule_id: str
    mode: DeliveryMode
    digest_schedule: str | None
    thread_id: int | None
    muted_until: datetime | None
    # Digest mode: the end of the last period a digest covered (None in instant mode).
    digest_sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoryArticle:
    """One article of a story, with why it joined (``why``: the grouping's decision as stored:
    reason, founder compared with, score, signals) and whether a person put it there."""

    article_id: int
    identity: str
    story_id: int
    story_key: str
    title: str
    text: str  # summary and content, for rebuilding the grouping's window
    link: str | None
    feed_url: str
    feed_name: str | None
    published_at: datetime | None
    first_seen_at: datetime
    why: dict[str, object]
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story as ``newswatch stories show`` and ``/split`` report it."""

    id: int
    key: str
    title: str
    split_from: int | None
    created_at: datetime
    articles: tuple[StoryArticle, ...]


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

    async def claim_due_feeds(self, now: datetime, limit: int, lease_s: float) -> list[FeedState]:
        """Claim up to ``limit`` due, unclaimed feeds (most overdue first) for ``lease_s``
        seconds; replicas claiming at once get disjoint sets."""

    async def claim_feeds(
        self, urls: Sequence[str], now: datetime, lease_s: float
    ) -> list[FeedState]:
        """Claim those of ``urls`` still due and unclaimed for ``lease_s`` seconds (replicas:
        each due feed is polled by one process); returns the claimed ones."""

    async def release_feeds(self, urls: Sequence[str]) -> None:
        """Give up this process's claims on ``urls``."""

    async def release_others_claims(self) -> int:
        """Drop every other process's claim (the sole process of a SQLite file only)."""

    async def try_lead(self) -> bool:
        """Become the replica that sends (PostgreSQL advisory lock; SQLite: always)."""

    async def still_leading(self) -> bool:
        """True while this process still holds the sender's lock."""

    async def listen_for_deliveries(self, wake: Callable[[], None]) -> None:
        """While leading (PostgreSQL): ``wake()`` whenever any replica queued deliveries."""

    async def resign(self) -> None:
        """Stop being the sender."""

    async def save_feed_state(self, state: FeedState) -> None:
        """Persist validators, schedule and health after a poll, releasing this process's
        claim (nothing is written while another process holds a live claim)."""

    # articles and matches ------------------------------------------------------------------
    async def ingest(
        self, article: Article, matches: Sequence[RuleMatch], now: datetime, *, alert: bool = True
    ) -> IngestResult:
        """Store an article and its matches, and queue deliveries, in one transaction.

        Unique constraints carry exactly-once: one article per identity, one match per
        (rule, article), one delivery per (chat, article). With ``alert=False`` (a feed's first
        poll) matches are stored but no deliveries are queued.
        """

    async def ingest_many(
        self,
        items: Sequence[tuple[Article, Sequence[RuleMatch]]],
        now: datetime,
        *,
        alert: bool = True,
        stories: Sequence[StoryPlacement | None] | None = None,
    ) -> list[IngestResult]:
        """``ingest`` for several articles (one poll's items) in ONE transaction, in order.

        ``stories`` (one per item) place NEW articles in their stories; alerts then follow
        stories: one alert per story and chat, which later articles of the story edit (or, once
        it is 48 hours old, answer with a threaded reply) instead of alerting again, unless the
        chat or a rule asked for every article (docs/stories.md)."""

    # chats and subscriptions ---------------------------------------------------------------
    async def upsert_chat(self, chat: Chat) -> None: ...

    async def subscribe(self, chat_id: int, rule_id: str, thread_id: int | None = None) -> bool:
        """Subscribe; False when the chat already was."""

    async def unsubscribe(self, chat_id: int, rule_id: str) -> bool:
        """Unsubscribe; False when the chat was not subscribed."""

    async def subscriptions(self, chat_id: int) -> list[str]:
        """Rule ids the chat is subscribed to, sorted."""

    async def subscribed_rule_ids(self) -> list[str]:
        """Every rule id any chat is subscribed to (including rules that no longer exist)."""

    # outbox --------------------------------------------------------------------------------
    async def due_deliveries(
        self, now: datetime, limit: int = 50, *, per_lane: int | None = None
    ) -> list[Delivery]:
        """Pending deliveries whose next attempt has come, oldest first (also "sending" ones
        left by a crash: the caller decides to resend them). With ``per_lane``, at most that
        many of each (chat, topic), so one chat's backlog cannot fill the batch."""

    # Every move is a compare-and-set on the state it expects: ``mark_sending`` claims a
    # pending (or abandoned "sending") row; the others need the row still "sending" by this
    # process. False: the row is not in that state (another sender has it, or it is finished),
    # nothing changed. A slow sender can never move a sent alert back to pending.
    async def mark_sending(self, delivery_id: int, now: datetime) -> bool: ...

    async def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> bool: ...

    async def mark_retry(
        self, delivery_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> bool: ...

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> bool:
        """Give up on one delivery for good (recorded with its error)."""

    async def pending_count(self, chat_id: int | None = None) -> int:
        """Outbox depth: deliveries not yet sent (pending or sending), for one chat or all."""

    # chats: status, migration, muting, modes ------------------------------------------------
    async def get_chat(self, chat_id: int) -> Chat | None: ...

    async def set_chat_active(
        self, chat_id: int, active: bool, *, now: datetime | None = None
    ) -> None:
        """Inactive (blocked/kicked): its pending deliveries stop; they resume when active.
        Going inactive records ``now`` (default: the wall clock) as the moment it went away,
        unless it already was away."""

    async def returned_chats(self) -> list[tuple[int, datetime]]:
        """Chats active again after being away, not caught up yet: (id, away since)."""

    async def queue_catch_up(
        self,
        chat_id: int,
        away_since: datetime,
        digests: Sequence[tuple[int | None, Sequence[str], Sequence[RenderedMessage]]],
        now: datetime,
    ) -> bool:
        """Queue a returned chat's catch-up digests and mark it caught up, if it still is
        away since ``away_since`` (compare-and-set; False: nothing done)."""

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: move, in one transaction, its subscriptions, unsent
        deliveries, ``/settings``, rule mutes, trend opt-ins, "not relevant" marks and personal
        rules to the new id (a row the new id already has wins; a personal rule keeps its
        ``rule_id`` and its number, or takes the next free one when the new id already uses
        it), cancel its unsent edits of and replies to the old chat's messages (their message
        ids mean nothing in the new chat), and mark the old chat migrated. Nothing is renamed:
        every id a rule is known by stays the same. Running it again is harmless."""

    async def mute_chat(self, chat_id: int, until: datetime | None) -> None:
        """Mute all the chat's subscriptions until ``until`` (None: unmute). Matches made while
        muted are stored but not queued for the chat."""

    async def set_subscription_mode(
        self,
        chat_id: int,
        rule_id: str,
        mode: DeliveryMode,
        digest_schedule: str | None = None,
        *,
        now: datetime | None = None,
    ) -> bool:
        """Switch one subscription between instant and digest; False when not subscribed.

        Switching into digest mode starts the first period at ``now`` (default: the wall
        clock), so the first digest covers matches from then on; changing the schedule of a
        digest subscription keeps its last period end (nothing is skipped or repeated);
        switching back to instant forgets it."""

    async def subscription_details(self, chat_id: int) -> list[Subscription]:
        """The chat's subscriptions with mode, schedule, topic and mute, sorted by rule id."""

    async def due_digest_items(
        self,
        chat_id: int,
        rule_ids: Sequence[str],
        since: datetime,
        until: datetime | None = None,
    ) -> list[StoredMatch]:
        """Matches of ``rule_ids`` made after ``since`` (and at or before ``until``, when
        given), oldest first, leaving out articles the chat already has an instant alert for."""

    async def digest_subscriptions(self) -> list[Subscription]:
        """Every digest-mode subscription of an active chat (blocked and migrated chats left
        out), muted ones included with their ``muted_until``: the digest scheduler decides what
        a mute means. Sorted by chat id, then rule id. Sends and marks nothing."""

    async def mark_digest_sent(
        self, chat_id: int, rule_ids: Sequence[str], sent_at: datetime
    ) -> None:
        """Record that the digests of ``rule_ids`` for the chat cover matches up to
        ``sent_at``. Never moves a subscription's mark backwards; subscriptions that are not
        (or no longer) in digest mode are left alone."""

    async def queue_digest(
        self,
        chat_id: int,
        thread_id: int | None,
        rule_ids: Sequence[str],
        period_end: datetime,
        pages: Sequence[RenderedMessage],
        now: datetime,
    ) -> int:
        """Queue one ``DIGEST`` delivery holding ``pages`` for the chat (and forum topic), and
        mark the digests of ``rule_ids`` done up to ``period_end`` (as ``mark_digest_sent``),
        in one transaction: either both happen or neither. Returns the delivery's id."""

    async def queue_notice(
        self, chat_ids: Sequence[int], pages: Sequence[RenderedMessage], now: datetime
    ) -> int:
        """Queue one ``NOTICE`` delivery holding ``pages`` for each of ``chat_ids`` (the
        admins' private chats; a chat the bot has not seen yet is recorded as private and
        active, a known one is left as it is). Returns how many were queued."""

    # queries -----------------------------------------------------------------------------
    async def recent_matches(
        self, rule_id: str | None = None, chat_id: int | None = None, limit: int = 10
    ) -> list[StoredMatch]:
        """Newest matches first; for one rule and/or the rules one chat subscribes to."""

    async def match_counts_per_day(self, since: datetime) -> list[tuple[str, date, int]]:
        """(rule id, UTC day, matches) from ``since`` on, sorted by rule then day."""

    async def export_matches(
        self,
        out: TextIO,
        fmt: ExportFormat,
        start: datetime | None = None,
        end: datetime | None = None,
        rule_ids: Sequence[str] | None = None,
        explain: Explainer | None = None,
    ) -> int:
        """Write matches with ``start <= matched_at < end`` as CSV or JSON Lines; returns rows.
        ``explain``: locates the hits of matches stored without any (``Explainer``)."""

    def iter_articles(self, batch: int = 500) -> AsyncIterator[tuple[Article, tuple[str, ...]]]:
        """Every stored article with the ids of the rules that matched it, in storage order."""

    # stories -----------------------------------------------------------------------------
    async def story_window(self, since: datetime) -> list[StoryArticle]:
        """Articles of the stories touched since ``since``, oldest first (the open window)."""

    async def get_story(self, story_id: int) -> StoryView | None: ...

    async def story_of_article(self, article_id: int) -> StoryView | None: ...

    async def split_article(self, article_id: int, now: datetime) -> StoryView:
        """Move the article into a story of its own, recorded so it is never merged back."""

    async def splits_since(self, since: datetime) -> list[StoryView]:
        """Stories made by a split at or after ``since``, oldest first."""

    async def set_chat_stories_separate(self, chat_id: int, separate: bool) -> bool:
        """One alert per article (True) or per story (False) for the chat; False if unknown."""

    async def chat_stories_separate(self, chat_id: int) -> bool: ...

    async def stories_of_articles(self, article_ids: Sequence[int]) -> dict[int, int]:
        """Article id -> story id for those of ``article_ids`` that have a story."""

    async def story_sources(self, story_ids: Sequence[int]) -> dict[int, tuple[StorySource, ...]]:
        """Every article of each story as a source, in order of arrival."""

    async def sources_by_identity(
        self, identities: Sequence[str]
    ) -> dict[str, tuple[StorySource, ...]]:
        """Article identity -> the other articles of its story, when it has any (``/search``)."""

    # retention ---------------------------------------------------------------------------
    async def prune(self, now: datetime, retention_days: int = 90, batch: int = 500) -> int:
        """Delete articles first seen more than ``retention_days`` ago (with their sent or
        failed deliveries and edit history), ``batch`` rows per transaction; returns articles
        deleted. Articles with unsent deliveries are kept; matches are kept (see
        ``SqlStorage.prune_matches``)."""

    # self-service (#16): personal rules, one rule's mute, feedback ------------------------
    async def add_personal_rule(
        self,
        chat_id: int,
        name: str,
        query: str,
        *,
        limit: int,
        created_by: int | None,
        now: datetime,
    ) -> PersonalRule | None:
        """Save a personal rule under the chat's next number (numbers are never reused while
        a higher one exists), with the id ``personal_rule_id(chat_id, number)``, the number
        chosen so that no stored rule has that id yet (a rule that moved here or away with a
        migration keeps an id made from another chat's numbers); None when the chat already
        has ``limit`` rules. Checks nothing about the query: the caller validated it."""

    async def personal_rules(self, chat_id: int | None = None) -> list[PersonalRule]:
        """One chat's personal rules (every chat's, with None), by chat then number."""

    async def personal_rule(self, rule_id: str) -> PersonalRule | None:
        """The personal rule stored under ``rule_id``, with the chat that owns it now; None
        when there is none (never was, deleted, promoted)."""

    async def update_personal_rule(
        self,
        chat_id: int,
        number: int,
        *,
        query: str | None = None,
        name: str | None = None,
        paused: bool | None = None,
        now: datetime,
    ) -> PersonalRule | None:
        """Change what is given of one personal rule; None when the chat has no such rule."""

    async def delete_personal_rule(self, chat_id: int, number: int) -> PersonalRule | None:
        """Delete one personal rule and return it as it was; None when there was none.
        Subscriptions are the caller's business (``unsubscribe`` its ``rule_id``)."""

    async def mute_rule(
        self, chat_id: int, rule_id: str, until: datetime | None, now: datetime
    ) -> bool:
        """Mute one subscription until ``until`` (None: for good, until unmuted), remembering
        when the mute began (kept from the first mute when muted again); False when the chat
        is not subscribed to the rule."""

    async def unmute_rule(self, chat_id: int, rule_id: str) -> datetime | None:
        """End one subscription's mute; returns when that mute began (None when the rule was
        not muted on its own, e.g. only the whole chat was)."""

    async def expired_rule_mutes(self, now: datetime) -> list[tuple[int, str]]:
        """(chat, rule) of every one-rule mute whose end has come (and of mutes whose
        subscription is gone), oldest first: their catch-up is due."""

    async def add_feedback(self, feedback: Feedback) -> bool:
        """Record a "not relevant"; False when this chat already marked this article for this
        rule."""

    async def feedback(self, rule_ids: Sequence[str] | None = None) -> list[Feedback]:
        """Feedback for ``rule_ids`` (all with None), newest first."""

    async def chat_settings(self) -> dict[int, ChatSettings]:
        """Every chat's settings that differ from the defaults (``/settings``), by chat id."""

    async def save_chat_settings(self, chat_id: int, settings: ChatSettings, now: datetime) -> None:
        """Store one chat's settings as a whole (all defaults: the row goes)."""

    async def alert_ref(self, delivery_id: int) -> AlertRef | None:
        """The alert sent from outbox row ``delivery_id``; None when it is not an alert or its
        article was pruned."""
