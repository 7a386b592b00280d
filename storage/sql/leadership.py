"""Leadership: which replica is the sender, elected with a PostgreSQL session advisory lock.

Several replicas on one PostgreSQL share the polling (feed leases, ``storage.sql.feeds``), but
one of them at a time is **the sender**: it runs the outbox sender (so Telegram's limits hold
for the bot as a whole with the in-process pacer), the one long-polling ``getUpdates``
consumer Telegram allows per token, and the digest, catch-up and feed-health jobs.
``try_lead`` takes ``pg_try_advisory_lock`` on a connection of its own, held open for the whole
term: PostgreSQL releases the lock the moment that session ends, so when the leader dies (or
loses its connection) another replica's next ``try_lead`` wins — failover in seconds, with no
lease to wait out and no consensus of our own. ``still_leading`` checks the session is alive.

On SQLite, the single-process setup (``claim_sole_process``), the one process always leads.
Does not start or stop anything itself: ``bot.runtime`` does, on the answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import OUTBOX_CHANNEL, SqlEngine

SENDER_LOCK_KEY = 0x6E77_0002  # "nw" 2: the sender's advisory lock
LEADER_CHECK_TIMEOUT_S = 5.0


class LeadershipStorage(SqlEngine):
    """The leadership part of ``SqlStorage`` (its connection is ``SqlEngine._leader_conn``,
    which ``close()`` also ends)."""

    async def try_lead(self) -> bool:
        """Become the sender if no other process is: True while this process leads."""
        if self._dialect != "postgresql":
            return True
        if self._leader_conn is not None:
            return await self.still_leading()
        conn: AsyncConnection | None = None
        try:
            conn = await self.engine.connect()
            won = bool(
                (
                    await conn.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": SENDER_LOCK_KEY}
                    )
                ).scalar_one()
            )
            await conn.commit()  # the session lock outlives the transaction
        except (SQLAlchemyError, OSError):
            won = False
        if not won:
            if conn is not None:
                with contextlib.suppress(SQLAlchemyError, OSError):
                    await conn.close()
            return False
        self._leader_conn = conn
        return True

    async def listen_for_deliveries(self, wake: Callable[[], None]) -> None:
        """While leading on PostgreSQL: call ``wake()`` whenever any replica commits queued
        deliveries (``LISTEN`` on the sender's own session, so it ends with the term). Nothing
        to do on SQLite, where the one process wakes its sender itself."""
        conn = self._leader_conn
        if self._dialect != "postgresql" or conn is None:
            return
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.add_listener(OUTBOX_CHANNEL, lambda *_args: wake())

    async def still_leading(self) -> bool:
        """True while the session holding the sender's lock is alive (SQLite: always)."""
        if self._dialect != "postgresql":
            return True
        conn = self._leader_conn
        if conn is None:
            return False
        try:
            async with asyncio.timeout(LEADER_CHECK_TIMEOUT_S):
                await conn.execute(text("SELECT 1"))
                await conn.commit()
        except (SQLAlchemyError, OSError, TimeoutError):
            await self.resign()
            return False
        return True

    async def resign(self) -> None:
        """Stop leading: the session (and so the lock) ends."""
        conn, self._leader_conn = self._leader_conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError, OSError, TimeoutError):
                async with asyncio.timeout(LEADER_CHECK_TIMEOUT_S):
                    await conn.close()
