"""Fixtures shared across test folders. The database fixtures (``database_url`` runs a test
once per database: SQLite and a real PostgreSQL) come from tests/support/postgres.py;
``store`` is an open ``SqlStorage`` on each of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import SqlStorage
from tests.fakes.feed_server import FeedServer
from tests.support.postgres import database_url, postgres_server, postgres_url
from tests.support.seeds import Seed, load_seeds

__all__ = ["database_url", "postgres_server", "postgres_url"]


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 that the test programs route by route."""
    server = FeedServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def seeds() -> list[Seed]:
    """The sample articles (tests/data/seeds), parsed once per session."""
    return load_seeds()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStorage]:
    storage = SqlStorage(database_url)
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()
