"""The ``store`` fixture of the storage suite: an open ``SqlStorage`` on each database that
``database_url`` gives (SQLite, then a real PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import SqlStorage


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStorage]:
    storage = SqlStorage(database_url)
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()
