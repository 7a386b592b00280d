"""Opening, closing and the protocol: ``storage/sql/engine.py`` and the composed ``SqlStorage``.
Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import StorageError
from storage import SqlStorage
from storage.base import Storage
from storage.sql import SqlEngine
from tests.support.processes import bot_env


def test_sql_storage_satisfies_the_protocol() -> None:
    storage: Storage = SqlStorage("sqlite+aiosqlite:///unused.db")
    assert storage is not None


# errors ---------------------------------------------------------------------------------
async def test_unusable_database_gives_a_one_line_storage_error(tmp_path: object) -> None:
    storage = SqlStorage("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(StorageError, match="cannot open database") as info:
        await storage.open()
    assert "\n" not in str(info.value)


async def test_calls_before_open_are_refused() -> None:
    with pytest.raises(StorageError, match="not open"):
        await SqlStorage("sqlite+aiosqlite:///x.db").pending_count()


def test_no_two_parts_define_the_same_name() -> None:
    # The parts share SqlStorage's namespace: a name defined twice would silently shadow one.
    parts = [c for c in SqlStorage.__mro__[1:] if issubclass(c, SqlEngine) and c is not SqlEngine]
    assert len(parts) == 13  # feeds, articles, chats, outbox, queries, retention, console,
    # stories, trends, leadership, personal, console sign-in, webhook updates
    seen: dict[str, str] = {}
    for part in parts:
        for name in vars(part):
            if name.startswith("__"):
                continue
            assert name not in seen, f"{name} is defined by {seen[name]} and {part.__name__}"
            seen[name] = part.__name__
    assert not set(seen) & set(vars(SqlEngine)) - {"__init__"}


async def test_a_second_process_on_one_sqlite_file_is_refused_clearly(tmp_path: Path) -> None:
    """The running bot claims its SQLite file; a second bot on it gets a clear refusal (not a
    second poller and sender doubling every alert), and may start once the first is gone."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}"
    first, second = SqlStorage(url), SqlStorage(url)
    first.claim_sole_process()
    await first.open()
    with pytest.raises(StorageError, match=r"another newswatch process \(pid \d+\) .*PostgreSQL"):
        second.claim_sole_process()
    await first.close()
    second.claim_sole_process()
    await second.close()


def test_a_second_bot_process_on_one_sqlite_file_exits_with_the_reason(tmp_path: Path) -> None:
    """The real command line: the second ``newswatch run`` on the same file exits non-zero, saying
    why, while the first one runs on."""
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    env = bot_env(f"sqlite:///{tmp_path / 'nw.db'}", config, {"NEWSWATCH_HEALTH_ADDR": ""})
    command = [sys.executable, "-m", "bot.cli.main", "run"]
    first = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert first.stdout is not None
        for line in first.stdout:  # wait until the first one is running
            if b"ready in" in line:
                break
        second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=60)
        assert second.returncode != 0
        assert b"another newswatch process" in second.stderr + second.stdout
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(timeout=20)


async def test_one_sender_at_a_time_and_the_next_takes_over_when_it_goes(
    database_url: str,
) -> None:
    """PostgreSQL: the sender's advisory lock goes to one storage; when its session ends (the
    process stops or dies) the next ``try_lead`` wins. SQLite: the one process always leads."""
    first, second = SqlStorage(database_url), SqlStorage(database_url)
    await first.open()
    await second.open()
    try:
        assert await first.try_lead()
        assert await first.still_leading()
        postgres = first.dialect == "postgresql"
        assert await second.try_lead() is not postgres
        await first.close()
        assert await second.try_lead()
        assert await second.still_leading()
    finally:
        await first.close()
        await second.close()


# SQLite's journal mode ------------------------------------------------------------------
async def test_a_new_sqlite_file_another_connection_is_writing_to_opens_and_ends_in_wal(
    tmp_path: Path,
) -> None:
    """Several storages opening one new file at once (the migrations test of replicas): while
    one writes to a file not yet in WAL mode, SQLite answers another's switch to WAL with
    "database is locked" at once instead of waiting. Opening waits for the writer instead, and
    the file ends up in WAL mode."""
    path = tmp_path / "new.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE other_app (i INTEGER)")  # a file in rollback-journal mode
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other_app VALUES (1)")
    storage = SqlStorage(f"sqlite+aiosqlite:///{path}")
    opening = asyncio.create_task(storage.open())
    try:
        await asyncio.sleep(0.3)
        assert not opening.done()  # waiting for the writer, not failed
        writer.execute("COMMIT")
        await asyncio.wait_for(opening, 60)
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        check.close()
    finally:
        writer.close()
        await storage.close()
