"""Feeds: syncing the configured feed list, the due feeds, and each feed's ``FeedState``.

The columns ``save_feed_state`` writes and ``get_feed`` reads are derived from the
``core.models.FeedState`` dataclass, so a field added there round-trips once ``schema.py`` (and a
migration) has its column; a field without a column fails at import, naming it.

Leases, for several replicas on one database: ``claim_feeds`` marks due feeds as polled by this
process until a deadline (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two replicas claiming at
once skip each other's rows instead of waiting; SQLite's IMMEDIATE transactions serialise the
claim), ``due_feeds`` leaves out feeds another process holds, and ``save_feed_state`` releases
the claim. A dead process's feeds are claimable again once their lease has run out.

Does not fetch feeds or decide schedules: the watchers do.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, or_, select, text, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.sql.elements import ColumnElement

from core.models import FeedConfig, FeedState

from ..schema import feeds as feeds_tbl
from .engine import SqlEngine, wall_now

# The FeedState fields that are not a column of the same name holding the same value: ``url`` is
# the row's key (matched on, written only on insert) and ``tags`` is a JSON list in a text column.
# Every other field is one column, converted by the column's type.
SYNC_FEEDS_LOCK_KEY = 0x6E77_0003  # "nw" 3: replicas sync the feeds file one at a time
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
            if self._dialect == "postgresql":
                # Replicas starting together (``--scale bot=3``) sync the same feeds file: one at
                # a time, or two insert the same new feed and the second fails on uq_feeds_url.
                # Taken before reading, so the next one reads what the first committed.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_FEEDS_LOCK_KEY}
                )
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

    def _due_unclaimed(self, now: datetime) -> Any:
        return and_(
            feeds_tbl.c.enabled.is_(True),
            feeds_tbl.c.disabled_reason.is_(None),
            or_(feeds_tbl.c.next_check_at.is_(None), feeds_tbl.c.next_check_at <= now),
            or_(feeds_tbl.c.lease_until.is_(None), feeds_tbl.c.lease_until <= now),
        )

    async def due_feeds(self, now: datetime, limit: int = 100) -> list[FeedState]:
        """Feeds whose next check has come and that no process holds a lease on."""
        query = (
            select(feeds_tbl)
            .where(self._due_unclaimed(now))
            .order_by(feeds_tbl.c.next_check_at, feeds_tbl.c.id)
            .limit(limit)
        )
        async with self._tx() as conn:
            return [_feed_state(row) for row in await conn.execute(query)]

    async def claim_due_feeds(self, now: datetime, limit: int, lease_s: float) -> list[FeedState]:
        """Claim up to ``limit`` due, unclaimed feeds, most overdue first, for ``lease_s``
        seconds, in one statement: replicas claiming at once skip each other's locked rows and
        get disjoint sets, instead of racing for the same head of the queue."""
        if limit <= 0:
            return []
        free = (
            select(feeds_tbl.c.id)
            .where(self._due_unclaimed(now))
            .order_by(feeds_tbl.c.next_check_at, feeds_tbl.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(feeds_tbl)
            .where(feeds_tbl.c.id.in_(free.scalar_subquery()))
            .values(lease_owner=self._owner, lease_until=now + timedelta(seconds=lease_s))
            .returning(*feeds_tbl.c)
        )
        async with self._tx() as conn:
            rows = [_feed_state(row) for row in await conn.execute(claim)]
        rows.sort(key=lambda s: (s.next_check_at is not None, s.next_check_at))
        return rows

    async def claim_feeds(
        self, urls: Sequence[str], now: datetime, lease_s: float
    ) -> list[FeedState]:
        """Claim those of ``urls`` that are still due and unclaimed, for ``lease_s`` seconds;
        returns the claimed feeds' states (the others are another process's now). Release by
        ``save_feed_state`` or ``release_feeds``."""
        if not urls:
            return []
        free = (
            select(feeds_tbl.c.id)
            .where(feeds_tbl.c.url.in_(list(urls)), self._due_unclaimed(now))
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(feeds_tbl)
            .where(feeds_tbl.c.id.in_(free.scalar_subquery()))
            .values(lease_owner=self._owner, lease_until=now + timedelta(seconds=lease_s))
            .returning(*feeds_tbl.c)
        )
        async with self._tx() as conn:
            return [_feed_state(row) for row in await conn.execute(claim)]

    async def release_others_claims(self) -> int:
        """Drop every claim not this process's: for the sole process of a SQLite file
        (``claim_sole_process``), any other claim is a dead predecessor's. Returns how many."""
        async with self._tx() as conn:
            result = await conn.execute(
                update(feeds_tbl)
                .where(
                    feeds_tbl.c.lease_owner.is_not(None),
                    feeds_tbl.c.lease_owner != self._owner,
                )
                .values(lease_owner=None, lease_until=None)
            )
        return int(result.rowcount or 0)

    async def release_feeds(self, urls: Sequence[str]) -> None:
        """Give up this process's claims on ``urls`` (a poll that ended without a state)."""
        if not urls:
            return
        async with self._tx() as conn:
            await conn.execute(
                update(feeds_tbl)
                .where(feeds_tbl.c.url.in_(list(urls)), feeds_tbl.c.lease_owner == self._owner)
                .values(lease_owner=None, lease_until=None)
            )

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
        # Releases this process's claim; a live claim of another process wins (its poll is
        # newer than ours, whose lease ran out): then nothing is written. So does a newer poll
        # already saved (unclaimed, checked after ours began): a poll that outlived its lease
        # must not put back its older state and schedule, which would make the feed due again
        # at once, just after the other replica's request.
        unclaimed: ColumnElement[bool] = feeds_tbl.c.lease_owner.is_(None)
        if state.last_checked_at is not None:
            unclaimed = and_(
                unclaimed,
                or_(
                    feeds_tbl.c.last_checked_at.is_(None),
                    feeds_tbl.c.last_checked_at <= state.last_checked_at,
                ),
            )
        ours = or_(
            unclaimed,
            feeds_tbl.c.lease_owner == self._owner,
            feeds_tbl.c.lease_until <= (state.last_checked_at or now),
        )
        async with self._tx() as conn:
            result = await conn.execute(
                update(feeds_tbl)
                .where(feeds_tbl.c.url == state.url, ours)
                .values(updated_at=now, lease_owner=None, lease_until=None, **values)
            )
            if result.rowcount == 0:
                held = (
                    await conn.execute(select(feeds_tbl.c.id).where(feeds_tbl.c.url == state.url))
                ).first()
                if held is not None:
                    return
                await conn.execute(
                    feeds_tbl.insert().values(
                        url=state.url, created_at=now, updated_at=now, **values
                    )
                )
