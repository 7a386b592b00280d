"""Alembic environment for newswatch.

Run by ``storage.migrate`` on a connection the application already holds (Alembic's documented
"connection sharing" pattern with asyncio: the async engine calls ``run_sync`` and hands the
sync-facing connection over in ``config.attributes["connection"]``). Running ``alembic`` from a
shell also works: then this file builds its own async engine from ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.begin() as conn:
        await conn.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    raise SystemExit("newswatch migrations run online only")
run_migrations_online()
