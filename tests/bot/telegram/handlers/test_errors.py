"""A handler that fails is reported to the chat, not swallowed."""

from __future__ import annotations

from core.errors import StorageError
from tests.bot.telegram.harness import running_bot
from tests.fakes.memory_storage import MemoryStorage


class BrokenStorage(MemoryStorage):
    async def subscriptions(self, chat_id: int) -> list[str]:
        raise StorageError("database is locked")


async def test_storage_failure_is_reported_not_swallowed() -> None:
    async with running_bot(storage=BrokenStorage()) as rb:
        reply = await rb.ask("/rules")
        assert (
            reply.text == "⚠️ The database is unavailable right now; please try again in a minute."
        )
