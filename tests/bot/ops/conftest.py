"""Fixtures for the operations tests: the project's fake Telegram Bot API server.

The health and doctor checks only call ``getMe``; the fake answers it for ``GOOD_TOKEN`` and
answers 401 Unauthorized (as Telegram does for a revoked token) for any other token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer

GOOD_TOKEN = DEFAULT_TOKEN
BAD_TOKEN = "987654321:AAHrevokedTokenForTheOpsTests-987654"
BOT_USERNAME = "newswatch_ops_bot"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer([GOOD_TOKEN], bot_username=BOT_USERNAME) as server:
        yield server
