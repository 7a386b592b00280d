"""The webhook's inbox of Telegram updates (``storage.updates.UpdateInbox``) over SQLAlchemy.

``accept_update`` is ``INSERT ... ON CONFLICT DO NOTHING`` on the ``update_id`` primary key, so
Telegram's repeated delivery of one update (it retries when a replica answers slowly or not at
all, and the load balancer may send the retry to another replica) stores it once, whoever
accepts it. ``take_updates`` is one ``UPDATE ... WHERE handled_at IS NULL ... RETURNING``: on
PostgreSQL a second taker waits for the first one's row locks and then finds the rows taken
(READ COMMITTED re-checks the condition), on SQLite the write transaction is exclusive.

Does not parse or answer updates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, update

from ..schema import telegram_updates
from ..updates import StoredUpdate
from .engine import SqlEngine

UPDATES_CHANNEL = "newswatch_updates"  # PostgreSQL NOTIFY channel: an update was accepted


class UpdateStorage(SqlEngine):
    """The webhook inbox part of ``SqlStorage``."""

    async def accept_update(self, update_id: int, payload: str, now: datetime) -> bool:
        async with self._tx() as conn:
            stmt = (
                self._insert(telegram_updates)
                .values(update_id=update_id, payload=payload, received_at=now)
                .on_conflict_do_nothing(index_elements=["update_id"])
                .returning(telegram_updates.c.update_id)
            )
            new = (await conn.execute(stmt)).first() is not None
            if new and self._dialect == "postgresql":
                # Heard by the sender replica at commit (``listen_for_updates``).
                await conn.execute(text(f"NOTIFY {UPDATES_CHANNEL}"))
            return new

    async def take_updates(self, now: datetime, limit: int = 100) -> list[StoredUpdate]:
        t = telegram_updates.c
        waiting = (
            select(t.update_id).where(t.handled_at.is_(None)).order_by(t.update_id).limit(limit)
        )
        stmt = (
            update(telegram_updates)
            .where(t.handled_at.is_(None), t.update_id.in_(waiting.scalar_subquery()))
            .values(handled_at=now)
            .returning(t.update_id, t.payload)
        )
        async with self._tx() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((StoredUpdate(int(r[0]), str(r[1])) for r in rows), key=_by_id)

    async def prune_updates(self, before: datetime) -> int:
        t = telegram_updates.c
        async with self._tx() as conn:
            result: Any = await conn.execute(
                delete(telegram_updates).where(t.handled_at.is_not(None), t.received_at < before)
            )
        return int(result.rowcount or 0)

    async def listen_for_updates(self, wake: Callable[[], None]) -> None:
        conn = self._leader_conn
        if self._dialect != "postgresql" or conn is None:
            return
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.add_listener(UPDATES_CHANNEL, lambda *_args: wake())


def _by_id(stored: StoredUpdate) -> int:
    return stored.update_id
