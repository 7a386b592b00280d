"""Retention: deleting old articles (with their edits and finished deliveries) and, when asked,
old matches, a batch per transaction so SQLite's write lock is held only briefly.

Does not decide when to prune or how long to keep things: the caller passes the periods.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from ..schema import UNFINISHED_STATES, articles, deliveries
from ..schema import matches as matches_tbl
from .engine import SqlEngine


class RetentionStorage(SqlEngine):
    """The retention part of ``SqlStorage``."""

    async def prune(self, now: datetime, retention_days: int = 90, batch: int = 500) -> int:
        cutoff = now - timedelta(days=retention_days)
        unsent = select(deliveries.c.id).where(
            deliveries.c.article_id == articles.c.id, deliveries.c.state.in_(UNFINISHED_STATES)
        )
        deleted = 0
        while True:
            async with self._tx() as conn:
                ids = list(
                    (
                        await conn.execute(
                            select(articles.c.id)
                            .where(articles.c.first_seen_at < cutoff, ~unsent.exists())
                            .order_by(articles.c.id)
                            .limit(batch)
                        )
                    ).scalars()
                )
                if ids:
                    await conn.execute(sql_delete(articles).where(articles.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < batch:
                break
        async with self._tx() as conn:
            # Digests and notices have no article to cascade from: finished old ones go here.
            result = await conn.execute(
                sql_delete(deliveries).where(
                    deliveries.c.article_id.is_(None),
                    deliveries.c.created_at < cutoff,
                    deliveries.c.state.not_in(UNFINISHED_STATES),
                )
            )
        return deleted + max(0, result.rowcount or 0)

    async def prune_matches(self, now: datetime, retention_days: int, batch: int = 500) -> int:
        """Delete matches older than ``retention_days`` in batches; returns matches deleted.

        Matches are also the memory of "already alerted" for articles pruned earlier: an item
        that reappears in a feed after its match is gone alerts again. Keep this period longer
        than any feed keeps items.
        """
        cutoff = now - timedelta(days=retention_days)
        deleted = 0
        while True:
            async with self._tx() as conn:
                ids = list(
                    (
                        await conn.execute(
                            select(matches_tbl.c.id)
                            .where(matches_tbl.c.matched_at < cutoff)
                            .order_by(matches_tbl.c.id)
                            .limit(batch)
                        )
                    ).scalars()
                )
                if ids:
                    await conn.execute(sql_delete(matches_tbl).where(matches_tbl.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < batch:
                return deleted
