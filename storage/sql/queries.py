"""Reading what was stored: recent matches, a digest's due matches, match counts per day,
export of matches (CSV/JSON lines) and paging through every article. Searches are not here:
they replay the rule engine over candidates from the word index (``bot/search/``,
``storage/sql/word_index.py``).

Read-only: does not store, change or delete anything.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Date, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import Article

from ..base import ExportFormat, StoredMatch
from ..explain import Explainer
from ..schema import articles, deliveries, subscriptions
from ..schema import matches as matches_tbl
from .articles import article_from_row, matched_rule_ids, stored_match_from_row
from .engine import SqlEngine
from .ingest import hits_json

EXPORT_COLUMNS = (
    "matched_at",
    "rule_id",
    "article_id",
    "title",
    "link",
    "feed_url",
    "published_at",
    "hits",
)


def _export_record(row: Any) -> dict[str, Any]:
    return {
        "matched_at": row.matched_at.isoformat(),
        "rule_id": row.rule_id,
        "article_id": row.article_id,
        "title": row.title,
        "link": row.link,
        "feed_url": row.feed_url,
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "hits": json.loads(row.hits or "[]"),
    }


async def _explain_page(
    conn: AsyncConnection, rows: Sequence[Any], explain: Explainer
) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """The hits, as exported, of the matches among ``rows`` stored without any whose article
    is still stored, keyed (article id, rule id): one query for the page's articles."""
    wanted: dict[int, list[str]] = {}
    for row in rows:
        if row.article_id is not None and json.loads(row.hits or "[]") == []:
            wanted.setdefault(row.article_id, []).append(row.rule_id)
    if not wanted:
        return {}
    out: dict[tuple[int, str], list[dict[str, Any]]] = {}
    query = select(articles).where(articles.c.id.in_(sorted(wanted)))
    for article_row in await conn.execute(query):
        article_id = article_row.id
        found = explain(article_from_row(article_row), wanted[article_id])
        for rule_id, hits in found.items():
            out[article_id, rule_id] = json.loads(hits_json(hits))
    return out


class QueryStorage(SqlEngine):
    """The read-only queries part of ``SqlStorage``."""

    def _stored_match_query(self) -> Any:
        return select(
            matches_tbl.c.id,
            matches_tbl.c.rule_id,
            matches_tbl.c.article_id,
            matches_tbl.c.title,
            matches_tbl.c.link,
            matches_tbl.c.feed_url,
            matches_tbl.c.matched_at,
            matches_tbl.c.published_at,
            matches_tbl.c.hits,
        )

    async def recent_matches(
        self, rule_id: str | None = None, chat_id: int | None = None, limit: int = 10
    ) -> list[StoredMatch]:
        query = self._stored_match_query()
        if rule_id is not None:
            query = query.where(matches_tbl.c.rule_id == rule_id)
        if chat_id is not None:
            query = query.where(
                matches_tbl.c.rule_id.in_(
                    select(subscriptions.c.rule_id).where(subscriptions.c.chat_id == chat_id)
                )
            )
        query = query.order_by(matches_tbl.c.matched_at.desc(), matches_tbl.c.id.desc()).limit(
            limit
        )
        async with self._tx() as conn:
            return [stored_match_from_row(row) for row in await conn.execute(query)]

    async def due_digest_items(
        self,
        chat_id: int,
        rule_ids: Sequence[str],
        since: datetime,
        until: datetime | None = None,
    ) -> list[StoredMatch]:
        if not rule_ids:
            return []
        # Digest and notice rows have no article: keep their NULLs out of the NOT IN, which
        # would otherwise be NULL (false) for every match.
        alerted = select(deliveries.c.article_id).where(
            deliveries.c.chat_id == chat_id, deliveries.c.article_id.is_not(None)
        )
        query = (
            self._stored_match_query()
            .where(
                matches_tbl.c.rule_id.in_(list(rule_ids)),
                matches_tbl.c.matched_at > since,
                or_(matches_tbl.c.article_id.is_(None), matches_tbl.c.article_id.not_in(alerted)),
            )
            .order_by(matches_tbl.c.matched_at, matches_tbl.c.id)
        )
        if until is not None:
            query = query.where(matches_tbl.c.matched_at <= until)
        async with self._tx() as conn:
            return [stored_match_from_row(row) for row in await conn.execute(query)]

    async def match_counts_per_day(self, since: datetime) -> list[tuple[str, date, int]]:
        day: ColumnElement[Any]
        if self.dialect == "sqlite":
            day = func.substr(matches_tbl.c.matched_at, 1, 10)  # stored as UTC "YYYY-MM-DD ..."
        else:
            day = cast(func.timezone("UTC", matches_tbl.c.matched_at), Date)
        query = (
            select(matches_tbl.c.rule_id, day.label("day"), func.count().label("n"))
            .where(matches_tbl.c.matched_at >= since)
            .group_by(matches_tbl.c.rule_id, day)
            .order_by(matches_tbl.c.rule_id, day)
        )
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return [
            (
                row.rule_id,
                row.day if isinstance(row.day, date) else date.fromisoformat(row.day),
                row.n,
            )
            for row in rows
        ]

    async def export_matches(
        self,
        out: TextIO,
        fmt: ExportFormat,
        start: datetime | None = None,
        end: datetime | None = None,
        rule_ids: Sequence[str] | None = None,
        explain: Explainer | None = None,
    ) -> int:
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"export format must be csv or jsonl, not {fmt!r}")
        writer = csv.writer(out) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(EXPORT_COLUMNS)
        written, last_id, page = 0, 0, 1000
        while True:
            query = self._stored_match_query().where(matches_tbl.c.id > last_id)
            if start is not None:
                query = query.where(matches_tbl.c.matched_at >= start)
            if end is not None:
                query = query.where(matches_tbl.c.matched_at < end)
            if rule_ids is not None:
                query = query.where(matches_tbl.c.rule_id.in_(list(rule_ids)))
            async with self._tx() as conn:
                rows = (await conn.execute(query.order_by(matches_tbl.c.id).limit(page))).all()
                found = {} if explain is None else await _explain_page(conn, rows, explain)
            for row in rows:
                record = _export_record(row)
                if not record["hits"] and (row.article_id, row.rule_id) in found:
                    record["hits"] = found[row.article_id, row.rule_id]
                if writer is not None:
                    writer.writerow(
                        [
                            record[c] if c != "hits" else json.dumps(record[c])
                            for c in EXPORT_COLUMNS
                        ]
                    )
                else:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
            if len(rows) < page:
                return written
            last_id = rows[-1].id

    async def iter_articles(
        self, batch: int = 500
    ) -> AsyncIterator[tuple[Article, tuple[str, ...]]]:
        """Pages by id with a fresh transaction per page, so no connection or lock is held
        while the caller works on a page (the caller may use this storage meanwhile)."""
        last_id = 0
        while True:
            async with self._tx() as conn:
                rows = (
                    await conn.execute(
                        select(articles)
                        .where(articles.c.id > last_id)
                        .order_by(articles.c.id)
                        .limit(batch)
                    )
                ).all()
                rules = await matched_rule_ids(conn, [r.id for r in rows])
            for row in rows:
                yield article_from_row(row), tuple(rules.get(row.id, ()))
            if len(rows) < batch:
                return
            last_id = rows[-1].id
