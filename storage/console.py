"""What the web console reads from storage, beyond the ``Storage`` protocol: pages of matched
stories with filters, articles newest first or by the word index (for search and rule
previews), match counts per day, hour or shorter step, and articles per feed.

A separate protocol so the console's queries do not widen ``Storage`` (and every fake of it);
``SqlStorage`` implements both. Read-only: nothing here stores, changes or deletes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from core.models import Article

from .base import StoredMatch
from .words import WordCondition

Bucket = Literal["day", "hour"]


@dataclass(frozen=True, slots=True)
class ConsoleStory:
    """One matched article with every rule that fired on it (a story, until stories exist)."""

    key: int  # the newest match id of the story: the paging and live-update cursor
    article_id: int | None  # None once the article was pruned (its matches are kept)
    title: str
    link: str | None
    feed_url: str
    feed_name: str | None
    published_at: datetime | None
    matched_at: datetime
    summary: str
    matches: tuple[StoredMatch, ...]


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A stored article as search and previews scan it, newest first."""

    article_id: int
    article: Article
    first_seen_at: datetime
    rule_ids: tuple[str, ...]  # the rules that matched it when it was stored
    language: str | None = None  # "vi" / "en" (core.language), None if stored before 0010


class ConsoleQueries(Protocol):
    """The console's read-only queries (``storage.sql.console`` implements them)."""

    async def console_stories(
        self,
        *,
        rule_ids: Sequence[str] | None = None,
        feed_urls: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_key: int | None = None,
        after_key: int | None = None,
        limit: int = 25,
        language: str | None = None,
    ) -> list[ConsoleStory]:
        """Matched stories, newest first; ``before_key`` pages back, ``after_key`` gives only
        newer ones (live updates). Filters apply to the matches (``language``: to the stored
        article's); a story shows all its rules."""

    def articles_newest_first(
        self,
        *,
        before_id: int | None = None,
        since: datetime | None = None,
        batch: int = 500,
        language: str | None = None,
    ) -> AsyncIterator[StoredArticle]:
        """Every stored article first seen at or after ``since`` with id below ``before_id``
        (and in ``language``, when given), newest first, one short transaction per batch."""

    async def word_candidates(
        self,
        cond: WordCondition,
        *,
        before_id: int | None = None,
        since: datetime | None = None,
        language: str | None = None,
        limit: int | None = None,
    ) -> list[int]:
        """Ids of the articles (filtered as ``articles_newest_first``) that may satisfy
        ``cond`` by the word index (``storage.words``), newest first: a superset of those that
        do, never fewer (articles not indexed yet are included). With ``limit``, about the
        newest ``limit`` of them; asking again below the last id returned goes on gap-free."""

    async def count_word_matches(
        self, cond: WordCondition, *, since: datetime | None = None, language: str | None = None
    ) -> int:
        """How many indexed articles (first seen since ``since``, in ``language``; pending
        ones left out) satisfy ``cond`` by their indexed words."""

    async def pending_word_ids(
        self, *, since: datetime | None = None, language: str | None = None
    ) -> list[int]:
        """The articles not indexed yet (first seen since ``since``, in ``language``)."""

    async def index_pending_words(self, batch: int = 500) -> int:
        """Index the articles written without their words (by something other than ingest);
        returns how many."""

    async def articles_by_ids(self, ids: Sequence[int]) -> list[StoredArticle]:
        """The stored articles with these ids, in the order given (pruned ones left out)."""

    async def count_articles(
        self, *, since: datetime | None = None, published_since: datetime | None = None
    ) -> int:
        """Stored articles first seen at or after ``since`` and published at or after
        ``published_since`` (an article without a date counts as recent)."""

    async def match_counts(
        self, since: datetime, bucket: Bucket = "day", rule_id: str | None = None
    ) -> list[tuple[str, datetime, int]]:
        """(rule id, UTC start of the day or hour, matches) from ``since`` on, by rule then time."""

    async def match_counts_by_step(
        self, since: datetime, step_s: int, rule_id: str | None = None
    ) -> list[tuple[str, datetime, int]]:
        """(rule id, UTC start, matches) per ``step_s`` seconds from ``since`` on (of ``rule_id``
        alone, when given), by rule then time, the steps counted from ``since`` (its whole
        second): days from a local midnight (for a zone whose offset stays the same), or half
        hours from one (what a local day of a half-hour zone is made of). Steps without a match
        are left out."""

    async def article_counts_per_feed(self, since: datetime) -> dict[str, int]:
        """Articles first seen since ``since``, per feed url."""

    async def latest_match_key(self) -> int:
        """The highest match id (0 when there is none): the live updates' starting point."""


class ConsoleAuthStore(Protocol):
    """Sign-in state every replica shares (``storage.sql.console_auth`` implements it)."""

    async def console_key(self, name: str, make: Callable[[], str]) -> str:
        """The key called ``name``, made from ``make()`` by the first caller ever."""

    async def use_login_link(self, nonce: str, expires_at: datetime, now: datetime) -> bool:
        """Record a one-time link as used; False when it already was (by any replica)."""

    async def login_link_used(self, nonce: str) -> bool:
        """True when the link with ``nonce`` was used (and has not expired since)."""
