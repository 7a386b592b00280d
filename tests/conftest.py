"""Fixtures shared across test folders."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.watchers.feedserver import FeedServer


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 that the test programs route by route."""
    server = FeedServer()
    await server.start()
    yield server
    await server.stop()
