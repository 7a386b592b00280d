"""Writing and reading the word index (``storage.words``, migration 0011) over SQLAlchemy.

``write_words`` stores the tokens of articles just inserted or edited, in the caller's
transaction, and takes them off the pending list. ``candidate_ids`` answers a word condition
with the ids of the articles that may match it, newest first: the index's answer plus every
article still pending (not indexed yet), so it never leaves out an article the engine would
match. Does not run the rule engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..schema import articles
from ..words import WordCondition, article_tokens, fts5_query, tsquery, words_text

_SQLITE_UPSERT = text(
    "INSERT INTO article_words(article_id, words) VALUES (:id, :words)"
    " ON CONFLICT(article_id) DO UPDATE SET words = excluded.words"
)
_POSTGRES_UPSERT = text(
    "INSERT INTO article_words(article_id, words)"
    " VALUES (:id, array_to_tsvector(CAST(:words AS text[])))"
    " ON CONFLICT (article_id) DO UPDATE SET words = excluded.words"
)


async def write_words(
    conn: AsyncConnection, dialect: str, articles: Sequence[tuple[int, str, str, str]]
) -> None:
    """Index ``(id, title, summary, content)`` of each article (new or edited)."""
    if not articles:
        return
    sqlite = dialect == "sqlite"
    values: list[dict[str, Any]] = []
    for article_id, title, summary, content in articles:
        tokens = article_tokens(title, summary, content)
        values.append({"id": article_id, "words": words_text(tokens) if sqlite else tokens})
    await conn.execute(_SQLITE_UPSERT if sqlite else _POSTGRES_UPSERT, values)
    ids = sorted({a[0] for a in articles})
    await conn.execute(
        text("DELETE FROM article_words_pending WHERE article_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": ids},
    )


def _filters(
    column: str, before_id: int | None, since: datetime | None, language: str | None
) -> tuple[str, str, dict[str, Any]]:
    """A join with ``articles`` (when its columns filter) and the WHERE conditions."""
    join, where = "", ""
    params: dict[str, Any] = {}
    if before_id is not None:
        where += f" AND {column} < :before"
        params["before"] = before_id
    if since is not None or language is not None:
        # CROSS JOIN: SQLite must not drive the loop from articles and probe the full-text
        # table one rowid at a time (each probe re-runs the MATCH)
        join = " CROSS JOIN articles a"
        where += f" AND a.id = {column}"
        if since is not None:
            where += " AND a.first_seen_at >= :since"
            params["since"] = since
        if language is not None:
            where += " AND a.language = :language"
            params["language"] = language
    return join, where, params


# A prepared statement's generic plan (PostgreSQL's choice after five runs) cannot know how rare
# the searched words are: for ``words @@ $1 ORDER BY article_id DESC LIMIT $2`` it walks the
# table backwards testing every row (9 ms at 10,000 articles, growing with the table) where the
# GIN index answers a rare word in under a millisecond. The word index's queries are planned
# for their words each time (SET LOCAL: this transaction only).
_CUSTOM_PLAN = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def _matching(
    conn: AsyncConnection,
    dialect: str,
    cond: WordCondition,
    before_id: int | None,
    since: datetime | None,
    language: str | None,
) -> tuple[str, str, dict[str, Any]]:
    """(the id column, `` FROM … WHERE …`` of the index rows whose words satisfy ``cond``
    within the filters, the parameters) for ``dialect``. On PostgreSQL, also plans the rest of
    the transaction for its words (``_CUSTOM_PLAN``)."""
    if dialect == "sqlite":
        column = "article_words_fts.rowid"
        join, where, params = _filters(column, before_id, since, language)
        params["q"] = fts5_query(cond)
        return (
            column,
            f" FROM article_words_fts{join} WHERE article_words_fts MATCH :q{where}",
            params,
        )
    column = "w.article_id"
    join, where, params = _filters(column, before_id, since, language)
    params["q"] = tsquery(cond)
    await conn.execute(_CUSTOM_PLAN)
    return (
        column,
        f" FROM article_words w{join} WHERE w.words @@ CAST(:q AS tsquery){where}",
        params,
    )


async def candidate_ids(
    conn: AsyncConnection,
    dialect: str,
    cond: WordCondition,
    *,
    before_id: int | None = None,
    since: datetime | None = None,
    language: str | None = None,
    limit: int | None = None,
) -> list[int]:
    """Ids (below ``before_id``, first seen at or after ``since``, in ``language``) of the
    articles whose indexed words satisfy ``cond``, and of the pending articles, newest first.

    With ``limit``, the newest ``limit`` index answers, plus the pending articles down to the
    oldest of them (all pending ones below ``before_id`` if fewer came back), so the next
    call with ``before_id`` = the last id returned goes on without a gap."""
    column, matching, params = await _matching(conn, dialect, cond, before_id, since, language)
    sql = f"SELECT {column}{matching} ORDER BY {column} DESC"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    found = [row[0] for row in await conn.execute(text(sql), params)]
    lowest = found[-1] if limit is not None and len(found) == limit else None
    pending = await _pending(conn, before_id, lowest, since, language)
    extra = set(pending)
    if not extra:
        return found
    return sorted(extra.union(found), reverse=True)


async def count_matching(
    conn: AsyncConnection,
    dialect: str,
    cond: WordCondition,
    *,
    since: datetime | None = None,
    language: str | None = None,
) -> int:
    """How many indexed (not pending) articles, first seen since ``since``, in ``language``,
    satisfy ``cond`` by their indexed words."""
    column, matching, params = await _matching(conn, dialect, cond, None, since, language)
    if dialect == "sqlite":
        not_pending = f" AND {column} NOT IN (SELECT article_id FROM article_words_pending)"
    else:
        not_pending = (
            f" AND NOT EXISTS (SELECT 1 FROM article_words_pending p WHERE p.article_id = {column})"
        )
    sql = f"SELECT count(*){matching}{not_pending}"
    return int((await conn.execute(text(sql), params)).scalar_one())


async def _pending(
    conn: AsyncConnection,
    before_id: int | None,
    lowest: int | None,
    since: datetime | None,
    language: str | None,
) -> list[int]:
    """Pending ids in ``[lowest, before_id)``, then filtered by ``since`` and ``language``.

    Two steps on purpose: the list is nearly always empty, and joined with ``articles`` in one
    statement PostgreSQL may read all of ``articles`` for the filter first."""
    sql = "SELECT article_id FROM article_words_pending WHERE 1 = 1"
    params: dict[str, Any] = {}
    if before_id is not None:
        sql += " AND article_id < :before"
        params["before"] = before_id
    if lowest is not None:
        sql += " AND article_id >= :lowest"
        params["lowest"] = lowest
    ids = [row[0] for row in await conn.execute(text(sql + " ORDER BY article_id DESC"), params)]
    if not ids or (since is None and language is None):
        return ids
    query = select(articles.c.id).where(articles.c.id.in_(ids))
    if since is not None:
        query = query.where(articles.c.first_seen_at >= since)
    if language is not None:
        query = query.where(articles.c.language == language)
    kept = {row[0] for row in await conn.execute(query)}
    return [i for i in ids if i in kept]


async def pending_ids(
    conn: AsyncConnection, *, since: datetime | None = None, language: str | None = None
) -> list[int]:
    """The pending articles (first seen since ``since``, in ``language``), newest first."""
    return await _pending(conn, None, None, since, language)


async def pending_batch(conn: AsyncConnection, batch: int) -> list[tuple[int, str, str, str]]:
    """Up to ``batch`` pending articles as ``(id, title, summary, content)``, oldest first."""
    rows = await conn.execute(
        text(
            "SELECT a.id, a.title, a.summary, a.content FROM article_words_pending p"
            " JOIN articles a ON a.id = p.article_id ORDER BY p.article_id LIMIT :n"
        ),
        {"n": batch},
    )
    return [(r.id, r.title, r.summary, r.content) for r in rows]
