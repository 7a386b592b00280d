"""Feeds: syncing the configured feed list, the due feeds, and each feed's ``FeedState``.

The columns ``save_feed_state`` writes and ``get_feed`` reads are derived from the
``core.models.FeedState`` dataclass, so a field added there round-trips once ``schema.py`` (and a
migration) has its column; a field without a column fails at import, naming it.

Does not fetch feeds or decide schedules: the watchers do.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, or_, select, update
from sqlalchemy import delete as sql_delete

from core.models import FeedConfig, FeedState

from ..schema import feeds as feeds_tbl
from .engine import SqlEngine, wall_now

# The FeedState fields that are not a column of the same name holding the same value: ``url`` is
# the row's key (matched on, written only on insert) and ``tags`` is a JSON list in a text column.
# Every other field is one column, converted by the column's type.
FEED_STATE_KEY = "url"
FEED_STATE_JSON = frozenset({"tags"})


def feed_state_columns(state_type: type[Any], table: Table) -> tuple[str, ...]:
    """The fields of ``state_type`` stored as plain columns of ``table``; raises ``TypeError``
    naming every field (special ones included) that has no column."""
    names = tuple(f.name for f in dataclasses.fields(state_type))
    missing = [name for name in names if name not in table.c]
    if missing:
        raise TypeError(
            f"{state_type.__name__} fields without a column in table {table.name!r}: "
            f"{', '.join(missing)} (add the column to storage/schema.py and a migration)"
        )
    return tuple(n for n in names if n != FEED_STATE_KEY and n not in FEED_STATE_JSON)


FEED_STATE_COLUMNS = feed_state_columns(FeedState, feeds_tbl)


def _feed_state(row: Any) -> FeedState:
    values: dict[str, Any] = {name: getattr(row, name) for name in FEED_STATE_COLUMNS}
    for name in FEED_STATE_JSON:
        values[name] = tuple(json.loads(getattr(row, name) or "[]"))
    return FeedState(url=row.url, **values)


class FeedStorage(SqlEngine):
    """The feeds part of ``SqlStorage``."""

    async def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        wanted = {f.url: f for f in feeds}
        async with self._tx() as conn:
            stored = set((await conn.execute(select(feeds_tbl.c.url))).scalars())
            for url in stored - wanted.keys():
                await conn.execute(sql_delete(feeds_tbl).where(feeds_tbl.c.url == url))
            for feed in wanted.values():
                config_values = {
                    "name": feed.name,
                    "tags": json.dumps(list(feed.tags)),
                    "interval_s": feed.interval_s,
                    "full_text": feed.full_text,
                    "enabled": feed.enabled,
                    "updated_at": now,
                }
                if feed.url in stored:
                    await conn.execute(
                        update(feeds_tbl).where(feeds_tbl.c.url == feed.url).values(**config_values)
                    )
                else:
                    await conn.execute(
                        feeds_tbl.insert().values(
                            url=feed.url, next_check_at=now, created_at=now, **config_values
                        )
                    )

    async def due_feeds(self, now: datetime, limit: int = 100) -> list[FeedState]:
        query = (
            select(feeds_tbl)
            .where(
                feeds_tbl.c.enabled.is_(True),
                feeds_tbl.c.disabled_reason.is_(None),
                or_(feeds_tbl.c.next_check_at.is_(None), feeds_tbl.c.next_check_at <= now),
            )
            .order_by(feeds_tbl.c.next_check_at, feeds_tbl.c.id)
            .limit(limit)
        )
        async with self._tx() as conn:
            return [_feed_state(row) for row in await conn.execute(query)]

    async def get_feed(self, url: str) -> FeedState | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(feeds_tbl).where(feeds_tbl.c.url == url))).first()
        return _feed_state(row) if row is not None else None

    async def list_feeds(self) -> list[FeedState]:
        async with self._tx() as conn:
            return [
                _feed_state(row) for row in await conn.execute(select(feeds_tbl).order_by("id"))
            ]

    async def save_feed_state(self, state: FeedState) -> None:
        values: dict[str, Any] = {name: getattr(state, name) for name in FEED_STATE_COLUMNS}
        for name in FEED_STATE_JSON:
            values[name] = json.dumps(list(getattr(state, name)))
        now = wall_now()
        async with self._tx() as conn:
            result = await conn.execute(
                update(feeds_tbl)
                .where(feeds_tbl.c.url == state.url)
                .values(updated_at=now, **values)
            )
            if result.rowcount == 0:
                await conn.execute(
                    feeds_tbl.insert().values(
                        url=state.url, created_at=now, updated_at=now, **values
                    )
                )
