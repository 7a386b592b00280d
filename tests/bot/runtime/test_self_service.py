"""``self_service.follow``: a replica re-reads the personal rules (saved through the replica
that runs Telegram) and keeps going when the database is away for a moment."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from bot.runtime import self_service
from core.errors import StorageError


class Personal:
    def __init__(self) -> None:
        self.calls = 0

    async def refresh(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise StorageError("database away")


async def test_follow_refreshes_again_and_again_and_survives_a_storage_error() -> None:
    personal = Personal()
    task = asyncio.create_task(self_service.follow(cast(Any, personal), every_s=0.01))
    for _ in range(200):
        if personal.calls >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert personal.calls >= 3
    assert not task.done() or task.cancelled()
