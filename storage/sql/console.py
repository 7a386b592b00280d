"""The console's read-only queries (``storage.console.ConsoleQueries``) over SQLAlchemy Core.

Stories are read from the newest matches backwards in bounded batches and grouped by article in
Python, so a page costs a few indexed range reads whatever the table's size; no GROUP BY over
the whole matches table. Does not store, change or delete anything.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, Row, cast, func, select

from ..base import StoredMatch
from ..console import Bucket, ConsoleStory, StoredArticle
from ..schema import articles
from ..schema import matches as matches_tbl
from ..words import WordCondition
from .articles import article_from_row, matched_rule_ids, stored_match_from_row
from .engine import SqlEngine
from .word_index import candidate_ids, count_matching, pending_batch, pending_ids, write_words

_SCAN_BATCH = 200
_MAX_SCANNED = 5000  # matches looked at for one page: a filter that rarely hits stays bounded


class ConsoleStorage(SqlEngine):
    """The console queries part of ``SqlStorage``."""

    def _match_columns(self) -> list[Any]:
        return [
            matches_tbl.c.id,
            matches_tbl.c.rule_id,
            matches_tbl.c.article_id,
            matches_tbl.c.title,
            matches_tbl.c.link,
            matches_tbl.c.feed_url,
            matches_tbl.c.matched_at,
            matches_tbl.c.published_at,
            matches_tbl.c.hits,
        ]

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
        if limit <= 0:
            return []
        base = select(*self._match_columns())
        if language is not None:
            base = base.join(articles, articles.c.id == matches_tbl.c.article_id).where(
                articles.c.language == language
            )
        if rule_ids is not None:
            base = base.where(matches_tbl.c.rule_id.in_(list(rule_ids)))
        if feed_urls is not None:
            base = base.where(matches_tbl.c.feed_url.in_(list(feed_urls)))
        if since is not None:
            base = base.where(matches_tbl.c.matched_at >= since)
        if until is not None:
            base = base.where(matches_tbl.c.matched_at < until)
        if after_key is not None:
            base = base.where(matches_tbl.c.id > after_key)
        order: dict[Any, int] = {}  # story key (article id, or -match id if pruned) -> newest id
        cursor, scanned = before_key, 0
        async with self._tx() as conn:
            while len(order) < limit and scanned < _MAX_SCANNED:
                query = base
                if cursor is not None:
                    query = query.where(matches_tbl.c.id < cursor)
                rows = (
                    await conn.execute(query.order_by(matches_tbl.c.id.desc()).limit(_SCAN_BATCH))
                ).all()
                for row in rows:
                    key = row.article_id if row.article_id is not None else -row.id
                    if key not in order and len(order) < limit:
                        order[key] = row.id
                scanned += len(rows)
                if len(rows) < _SCAN_BATCH:
                    break
                cursor = rows[-1].id
            if not order:
                return []
            article_ids = [k for k in order if k > 0]
            pruned_ids = [-k for k in order if k < 0]
            by_article: dict[Any, list[StoredMatch]] = {}
            newest: dict[Any, Any] = {}
            if article_ids:
                for row in await conn.execute(
                    select(*self._match_columns())
                    .where(matches_tbl.c.article_id.in_(article_ids))
                    .order_by(matches_tbl.c.rule_id)
                ):
                    by_article.setdefault(row.article_id, []).append(stored_match_from_row(row))
            if pruned_ids:
                for row in await conn.execute(
                    select(*self._match_columns()).where(matches_tbl.c.id.in_(pruned_ids))
                ):
                    by_article[-row.id] = [stored_match_from_row(row)]
            details = {
                row.id: row
                for row in await conn.execute(
                    select(
                        articles.c.id, articles.c.summary, articles.c.feed_name, articles.c.title
                    ).where(articles.c.id.in_(article_ids or [-1]))
                )
            }
            newest = {k: max(m.matched_at for m in ms) for k, ms in by_article.items()}
        stories = []
        for key, story_key in order.items():
            found = by_article.get(key)
            if not found:
                continue
            first = found[0]
            detail = details.get(key)
            stories.append(
                ConsoleStory(
                    key=story_key,
                    article_id=key if key > 0 else None,
                    title=detail.title if detail is not None else first.title,
                    link=first.link,
                    feed_url=first.feed_url,
                    feed_name=detail.feed_name if detail is not None else None,
                    published_at=first.published_at,
                    matched_at=newest[key],
                    summary=detail.summary if detail is not None else "",
                    matches=tuple(found),
                )
            )
        return stories

    async def articles_newest_first(
        self,
        *,
        before_id: int | None = None,
        since: datetime | None = None,
        batch: int = 500,
        language: str | None = None,
    ) -> AsyncIterator[StoredArticle]:
        cursor = before_id
        while True:
            query = select(articles)
            if cursor is not None:
                query = query.where(articles.c.id < cursor)
            if since is not None:
                query = query.where(articles.c.first_seen_at >= since)
            if language is not None:
                query = query.where(articles.c.language == language)
            async with self._tx() as conn:
                rows = (await conn.execute(query.order_by(articles.c.id.desc()).limit(batch))).all()
                found = await self._stored(conn, rows)
            for stored in found:
                yield stored
            if len(rows) < batch:
                return
            cursor = rows[-1].id

    async def _stored(self, conn: Any, rows: Sequence[Any]) -> list[StoredArticle]:
        """The rows as ``StoredArticle``s, with the rules that matched each when stored."""
        rules = await matched_rule_ids(conn, [r.id for r in rows])
        return [
            StoredArticle(
                row.id,
                article_from_row(row),
                row.first_seen_at,
                tuple(rules.get(row.id, ())),
                row.language,
            )
            for row in rows
        ]

    async def word_candidates(
        self,
        cond: WordCondition,
        *,
        before_id: int | None = None,
        since: datetime | None = None,
        language: str | None = None,
        limit: int | None = None,
    ) -> list[int]:
        async with self._tx() as conn:
            return await candidate_ids(
                conn,
                self.dialect,
                cond,
                before_id=before_id,
                since=since,
                language=language,
                limit=limit,
            )

    async def count_word_matches(
        self, cond: WordCondition, *, since: datetime | None = None, language: str | None = None
    ) -> int:
        async with self._tx() as conn:
            return await count_matching(conn, self.dialect, cond, since=since, language=language)

    async def pending_word_ids(
        self, *, since: datetime | None = None, language: str | None = None
    ) -> list[int]:
        async with self._tx() as conn:
            return await pending_ids(conn, since=since, language=language)

    async def index_pending_words(self, batch: int = 500) -> int:
        """Index every article still on the word index's pending list (rows written by
        something other than ingest), one transaction per ``batch``; returns how many."""
        done = 0
        while True:
            async with self._tx() as conn:
                found = await pending_batch(conn, batch)
                await write_words(conn, self.dialect, found)
            done += len(found)
            if len(found) < batch:
                return done

    async def articles_by_ids(self, ids: Sequence[int]) -> list[StoredArticle]:
        if not ids:
            return []
        async with self._tx() as conn:
            rows = (await conn.execute(select(articles).where(articles.c.id.in_(list(ids))))).all()
            found = {a.article_id: a for a in await self._stored(conn, rows)}
        return [found[i] for i in ids if i in found]

    async def count_articles(
        self, *, since: datetime | None = None, published_since: datetime | None = None
    ) -> int:
        query = select(func.count()).select_from(articles)
        if since is not None:
            query = query.where(articles.c.first_seen_at >= since)
        if published_since is not None:
            query = query.where(
                (articles.c.published_at.is_(None)) | (articles.c.published_at >= published_since)
            )
        async with self._tx() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def match_counts(
        self, since: datetime, bucket: Bucket = "day", rule_id: str | None = None
    ) -> list[tuple[str, datetime, int]]:
        start: ColumnElement[Any]
        if self.dialect == "sqlite":
            # stored as UTC "YYYY-MM-DD HH:MM:SS...": the prefix is the day or the hour
            start = func.substr(matches_tbl.c.matched_at, 1, 10 if bucket == "day" else 13)
        else:
            start = func.date_trunc(bucket, func.timezone("UTC", matches_tbl.c.matched_at))
        out = []
        for row in await self._per_rule(start, since, rule_id):
            value = row.bucket
            if isinstance(value, str):
                value = datetime.fromisoformat(value if bucket == "day" else value + ":00")
            out.append((row.rule_id, value.replace(tzinfo=UTC), int(row.n)))
        return out

    async def match_counts_by_step(
        self, since: datetime, step_s: int, rule_id: str | None = None
    ) -> list[tuple[str, datetime, int]]:
        if step_s <= 0:
            raise ValueError(f"step_s must be positive, not {step_s}")
        seconds: ColumnElement[Any]
        if self.dialect == "sqlite":
            # stored as UTC text; the first 19 characters are the whole seconds (strftime would
            # round a fraction up into the next second, and so maybe into the next step)
            seconds = cast(
                func.strftime("%s", func.substr(matches_tbl.c.matched_at, 1, 19)), Integer
            )
        else:
            epoch = func.extract("epoch", matches_tbl.c.matched_at)
            seconds = cast(func.floor(epoch), BigInteger)
        origin = math.floor(since.timestamp())
        # integer division on both databases; never of a negative number (matched_at >= since),
        # so it is a floor
        step = (seconds - origin) // step_s
        start = datetime.fromtimestamp(origin, UTC)
        return [
            (r.rule_id, start + timedelta(seconds=int(r.bucket) * step_s), int(r.n))
            for r in await self._per_rule(step, since, rule_id)
        ]

    async def _per_rule(
        self, bucket: ColumnElement[Any], since: datetime, rule_id: str | None
    ) -> Sequence[Row[Any]]:
        """(rule_id, bucket, n) of the matches from ``since`` on (of ``rule_id`` alone, when
        given), grouped by rule and ``bucket``, ordered so."""
        query = select(matches_tbl.c.rule_id, bucket.label("bucket"), func.count().label("n"))
        query = query.where(matches_tbl.c.matched_at >= since)
        if rule_id is not None:
            query = query.where(matches_tbl.c.rule_id == rule_id)
        query = query.group_by(matches_tbl.c.rule_id, bucket).order_by(
            matches_tbl.c.rule_id, bucket
        )
        async with self._tx() as conn:
            return (await conn.execute(query)).all()

    async def article_counts_per_feed(self, since: datetime) -> dict[str, int]:
        query = (
            select(articles.c.feed_url, func.count().label("n"))
            .where(articles.c.first_seen_at >= since)
            .group_by(articles.c.feed_url)
        )
        async with self._tx() as conn:
            return {row.feed_url: int(row.n) for row in await conn.execute(query)}

    async def latest_match_key(self) -> int:
        async with self._tx() as conn:
            value = (await conn.execute(select(func.max(matches_tbl.c.id)))).scalar()
        return int(value or 0)
