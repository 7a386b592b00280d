"""The shared part of ``SqlStorage``: the async engine, its dialect, transactions, opening,
closing and migrating, and this process's owner id for "sending" rows.

``SqlEngine`` is the base every per-resource part (``feeds``, ``articles``, ``chats``,
``outbox``, ``queries``, ``retention``) derives from; it knows no table. ``create_engine`` sets
up SQLite (WAL, busy timeout, IMMEDIATE transactions) and PostgreSQL (pre-ping).

Does not read or write any row: the resource modules do.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from core.errors import StorageError

from .. import migrate

OUTBOX_CHANNEL = "newswatch_outbox"  # PostgreSQL NOTIFY channel: deliveries were queued
SQLITE_BUSY_TIMEOUT_S = 30.0
SQLITE_CACHE_KIB = 32 * 1024  # per connection; the default 2 MiB thrashes on FTS updates


def wall_now() -> datetime:
    return datetime.now(UTC)


def one_line(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message[:300]}"


class SqlEngine:
    """The engine and transactions under ``SqlStorage``. ``await open()`` before use,
    ``await close()`` after. Driver and SQL errors surface as ``StorageError`` with a one-line
    message."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: AsyncEngine | None = None
        # Identifies this process's "sending" rows, so rows left by a crashed predecessor can be
        # told from rows this process has in flight right now.
        self._owner = uuid.uuid4().hex
        self._dialect = make_url(url).get_backend_name()
        self._process_lock: int | None = None  # the lock file's descriptor, while held
        self._leader_conn: AsyncConnection | None = None  # see ``leadership``

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._dialect

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StorageError("storage is not open: call open() first")
        return self._engine

    async def open(self) -> None:
        """Connect, and run the migrations up to head (creating the schema on first use)."""
        if self._engine is not None:
            return
        try:
            self._engine = create_engine(self._url)
            await migrate.upgrade(self._engine)
            if self._dialect == "sqlite":
                await _ensure_wal(self._engine)
        except StorageError:
            raise
        except (SQLAlchemyError, OSError) as e:
            await self.close()
            raise StorageError(f"cannot open database: {one_line(e)}") from e

    def claim_sole_process(self) -> None:
        """SQLite is the single-process setup: refuse to run a second newswatch process on the
        same database file, with a clear message, instead of doubling every poll and alert.
        Holds an exclusive ``flock`` on ``<database>.lock`` until ``close()`` (the kernel drops
        it when the process dies, however it dies). Nothing to do on PostgreSQL, where replicas
        coordinate through the database. Raises ``StorageError`` when another process holds it.
        """
        if self._dialect != "sqlite" or self._process_lock is not None:
            return
        database = make_url(self._url).database
        if not database or database == ":memory:" or database.startswith("file:"):
            return
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.with_name(path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StorageError(
                f"another newswatch process (pid {holder}) is already running on the SQLite "
                f"database {path}; SQLite serves one process only. Stop the other one, or use "
                "PostgreSQL (DATABASE_URL=postgresql://...) to run several replicas"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._process_lock = fd

    async def close(self) -> None:
        leader, self._leader_conn = self._leader_conn, None
        if leader is not None:  # the sender's session (``leadership``): ending it frees the lock
            with contextlib.suppress(SQLAlchemyError, OSError):
                await leader.close()
        if self._process_lock is not None:
            fd, self._process_lock = self._process_lock, None
            os.close(fd)  # releases the flock
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; commits on success, rolls back and wraps driver errors otherwise."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except StorageError:
            raise
        except (SQLAlchemyError, OSError) as e:
            raise StorageError(f"database error: {one_line(e)}") from e

    def _insert(self, table: Table) -> Any:
        """A dialect insert construct, which has ``on_conflict_do_nothing``/``_do_update``."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


async def _ensure_wal(engine: AsyncEngine, attempts: int = 50) -> None:
    """Put a SQLite file in WAL mode if a connection could not (``_on_connect``: its writer
    was busy), waiting for the lock without blocking the event loop. Raises ``StorageError``
    when it never frees (about 10 s); in-memory databases have no WAL and are left as they are."""
    for _attempt in range(attempts):
        async with engine.connect() as conn:
            # On the driver's connection: outside any transaction (SQLAlchemy would begin one,
            # and the mode cannot change inside a transaction).
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            try:
                async with raw.execute("PRAGMA journal_mode=WAL") as cursor:
                    mode = await cursor.fetchone()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e):
                    raise
                mode = None
            if mode is not None and mode[0] in ("wal", "memory"):
                return
        await asyncio.sleep(0.2)
    raise StorageError("cannot put the SQLite database in WAL mode: it stays locked")


def create_engine(url: str) -> AsyncEngine:
    """An async engine set up for newswatch: SQLite in WAL mode with a busy timeout, foreign
    keys on and real (IMMEDIATE) transactions; PostgreSQL with connection health checks."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_pre_ping=True)
    database = parsed.database
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    if not database or database == ":memory:":
        # One in-memory database lives in one connection: share it (tests, throwaway runs).
        engine = create_async_engine(parsed, connect_args=connect_args, poolclass=StaticPool)
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args=connect_args)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver (SQLAlchemy's documented recipe), so BEGIN
        # is ours: IMMEDIATE takes the write lock up front, and waits on the busy timeout
        # instead of failing when two connections read and then write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except Exception as e:  # the driver's OperationalError, wrapped by the adapter
            if "locked" not in str(e):
                raise
            # A new file that another connection is writing to (several storages opening it
            # at once): switching to WAL needs its lock, and SQLite answers "locked" at once
            # rather than wait. The mode belongs to the file, so the writer's own switch serves
            # this connection too; open() makes sure the file ends up in WAL.
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes in WAL mode
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # pages of the FTS index
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
