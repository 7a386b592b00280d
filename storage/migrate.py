"""Running the Alembic migrations from inside the async application.

Alembic is synchronous; this module uses its documented pattern for asyncio: the async engine
opens a connection, ``run_sync`` hands the sync-facing connection to Alembic through
``config.attributes["connection"]``, and ``storage/migrations/env.py`` runs on it. Knows nothing
about the tables themselves.

On PostgreSQL the migration transaction first takes a transaction-level advisory lock
(``MIGRATION_LOCK_KEY``), so replicas starting together wait for one another: the first
migrates, the others then find the database at head and do nothing (without it they raced to
create ``alembic_version`` and crashed on its duplicate key). SQLite serialises writers itself.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x6E77_0001  # "nw" 1: the advisory lock replicas take around migrations


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database at ``engine`` up to ``revision`` in one transaction."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Released by the commit (or rollback) of this very transaction.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        await conn.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for a database without newswatch tables."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)
