"""Opening, closing and the protocol: ``storage/sql/engine.py`` and the composed ``SqlStorage``.
Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import pytest

from core.errors import StorageError
from storage import SqlStorage
from storage.base import Storage
from storage.sql import SqlEngine


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
    assert len(parts) == 9  # feeds, articles, chats, outbox, queries, retention, console,
    # stories, trends
    seen: dict[str, str] = {}
    for part in parts:
        for name in vars(part):
            if name.startswith("__"):
                continue
            assert name not in seen, f"{name} is defined by {seen[name]} and {part.__name__}"
            seen[name] = part.__name__
    assert not set(seen) & set(vars(SqlEngine)) - {"__init__"}
