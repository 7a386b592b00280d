"""Articles and matches: the ``ingest``/``ingest_many`` entry points, and turning stored
article and match rows back into ``Article``, ``Hit`` and ``StoredMatch`` values (shared by the
outbox and the queries).

The batch itself (identity, edits, matches, queueing deliveries in one transaction) is in
``storage.sql.ingest``. Does not read matches for users (``queries``) or delete old articles
(``retention``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import Article, Hit, RuleMatch, StoryPlacement

from ..base import IngestResult, StoredMatch
from ..schema import matches as matches_tbl
from .engine import OUTBOX_CHANNEL, SqlEngine
from .ingest import IngestStatements, ingest_batch


def hits_from_json(raw: str | None) -> tuple[Hit, ...]:
    if not raw:
        return ()
    return tuple(
        Hit(term=h["term"], field=h["field"], start=int(h["start"]), end=int(h["end"]))
        for h in json.loads(raw)
    )


def article_from_row(row: Any) -> Article:
    return Article(
        feed_url=row.feed_url,
        identity=row.identity,
        title=row.title,
        link=row.link,
        summary=row.summary,
        content=row.content,
        author=row.author,
        published_at=row.published_at,
        guid=row.guid,
        link_key=row.link_key,
        feed_name=row.feed_name,
    )


def stored_match_from_row(row: Any) -> StoredMatch:
    return StoredMatch(
        rule_id=row.rule_id,
        article_id=row.article_id,
        title=row.title,
        link=row.link,
        feed_url=row.feed_url,
        matched_at=row.matched_at,
        published_at=row.published_at,
        hits=hits_from_json(row.hits),
    )


async def matched_rule_ids(
    conn: AsyncConnection, article_ids: Sequence[int]
) -> dict[int, list[str]]:
    """The ids of the rules each of ``article_ids`` matched when stored, sorted (articles that
    matched none are left out)."""
    rules: dict[int, list[str]] = {}
    if article_ids:
        for article_id, rule_id in await conn.execute(
            select(matches_tbl.c.article_id, matches_tbl.c.rule_id)
            .where(matches_tbl.c.article_id.in_(list(article_ids)))
            .order_by(matches_tbl.c.rule_id)
        ):
            rules.setdefault(article_id, []).append(rule_id)
    return rules


class ArticleStorage(SqlEngine):
    """The articles-and-matches part of ``SqlStorage``."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._ingest_statements = IngestStatements(self.dialect)

    async def ingest(
        self, article: Article, matches: Sequence[RuleMatch], now: datetime, *, alert: bool = True
    ) -> IngestResult:
        (result,) = await self.ingest_many([(article, matches)], now, alert=alert)
        return result

    async def ingest_many(
        self,
        items: Sequence[tuple[Article, Sequence[RuleMatch]]],
        now: datetime,
        *,
        alert: bool = True,
        stories: Sequence[StoryPlacement | None] | None = None,
    ) -> list[IngestResult]:
        """``ingest`` for several articles (say, one poll's items) in ONE transaction: all are
        stored with their matches and deliveries, or none. Results are in order and the same
        as calling ``ingest`` for each; a batch costs a few statements, not a few per item.
        ``stories`` (one per item, in order) are the grouping's placements: new articles are
        stored in their story and alerts follow stories (``storage.sql.story_ingest``)."""
        async with self._tx() as conn:
            results = await ingest_batch(conn, self._ingest_statements, items, now, alert, stories)
            if self._dialect == "postgresql" and any(r.new_deliveries for r in results):
                # Delivered at commit to the sender replica, which LISTENs (``leadership``):
                # it sends at once instead of at its next look at the outbox.
                await conn.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
            return results
