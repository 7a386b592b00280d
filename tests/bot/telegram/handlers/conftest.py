"""The ``rb`` fixture: a running bot over each storage the handler tests cover."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.telegram.harness import STORAGE_FACTORIES, RunningBot, running_bot


@pytest.fixture(params=sorted(STORAGE_FACTORIES))
async def rb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot over each storage: the in-memory fake and SqlStorage on SQLite."""
    async with running_bot(storage=STORAGE_FACTORIES[request.param](tmp_path)) as running:
        yield running
