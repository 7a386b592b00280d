"""``self_service.follow``: a replica re-reads the personal rules and the chats' /settings
(saved through another replica) and keeps going when the database is away for a moment."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from bot.runtime import self_service
from bot.services import ChatPrefs
from core.errors import StorageError
from core.models import ChatSettings, Language


class SettingsStore:
    """What ``follow`` reads from storage: the chats' settings, as another replica saved them."""

    def __init__(self) -> None:
        self.saved: dict[int, ChatSettings] = {}

    async def chat_settings(self) -> dict[int, ChatSettings]:
        return dict(self.saved)


@dataclass
class FakeServices:
    storage: SettingsStore = field(default_factory=SettingsStore)
    chat_prefs: ChatPrefs = field(default_factory=ChatPrefs)


class Personal:
    def __init__(self) -> None:
        self.calls = 0
        self.services = FakeServices()

    async def refresh(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise StorageError("database away")


async def test_follow_refreshes_again_and_again_and_survives_a_storage_error() -> None:
    personal = Personal()
    personal.services.storage.saved[-5] = ChatSettings(language=Language.VI)
    task = asyncio.create_task(self_service.follow(cast(Any, personal), every_s=0.01))
    for _ in range(200):
        if personal.calls >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert personal.calls >= 3
    assert not task.done() or task.cancelled()
    # the settings saved elsewhere are now what this replica's sender reads
    assert personal.services.chat_prefs.get(-5).language is Language.VI
