"""Console sign-in state that every replica shares (``storage.base.ConsoleAuthStore``).

``console_key`` returns the named key, making it from ``make()`` the first time (the first
writer wins: replicas starting together agree). ``use_login_link`` records a one-time link's
nonce as used — a compare-and-set, so a link opened on two replicas at once logs in once —
and forgets nonces whose links have expired. Does not sign or check anything: ``bot.web.auth``
does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select

from ..schema import console_keys, used_login_links
from .engine import SqlEngine, wall_now


class ConsoleAuthStorage(SqlEngine):
    """The console sign-in part of ``SqlStorage``."""

    async def console_key(self, name: str, make: Callable[[], str]) -> str:
        async with self._tx() as conn:
            await conn.execute(
                self._insert(console_keys)
                .values(name=name, value=make(), created_at=wall_now())
                .on_conflict_do_nothing()
            )
            value = await conn.scalar(
                select(console_keys.c.value).where(console_keys.c.name == name)
            )
        return str(value)

    async def use_login_link(self, nonce: str, expires_at: datetime, now: datetime) -> bool:
        async with self._tx() as conn:
            await conn.execute(delete(used_login_links).where(used_login_links.c.expires_at <= now))
            result = await conn.execute(
                self._insert(used_login_links)
                .values(nonce=nonce, expires_at=expires_at)
                .on_conflict_do_nothing()
            )
        return bool(result.rowcount)

    async def login_link_used(self, nonce: str) -> bool:
        async with self._tx() as conn:
            found = await conn.scalar(
                select(used_login_links.c.nonce).where(used_login_links.c.nonce == nonce)
            )
        return found is not None
