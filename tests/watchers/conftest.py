from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.fakes.feed_server import FeedServer
from watchers.fetch import FeedFetcher
from watchers.schedule import PollSettings

NOW = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)


@pytest.fixture
def server(feed_server: FeedServer) -> FeedServer:
    """The shared feed server (tests/conftest.py), under the name these tests use."""
    return feed_server


@pytest.fixture
async def fetcher() -> AsyncIterator[FeedFetcher]:
    async with FeedFetcher(
        user_agent="newswatch-test/1.0",
        allow_private=True,
        read_timeout_s=2.0,
        total_timeout_s=5.0,
        max_body_bytes=1024 * 1024,
    ) as f:
        yield f


@pytest.fixture
def settings() -> PollSettings:
    return PollSettings(default_interval_s=300.0, jitter_fraction=0.0, allow_private=True)
