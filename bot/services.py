"""The running application's shared parts.

``Services`` is handed to the pipeline, the outbox sender and the Telegram handlers, so each
reaches storage, the current rules, settings, the clock and the app's metrics the same way;
``RuleHolder`` holds the rule set in force across reloads; ``ChatPrefs`` every chat's
/settings. Holds state; does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.ops.metrics import Metrics
from core.clock import Clock
from core.models import ChatSettings
from storage.base import Storage

if TYPE_CHECKING:
    from rules import RuleSet


class RuleHolder:
    """Holds the rule set in force; a reload swaps it in one assignment (atomic for asyncio)."""

    def __init__(self, initial: RuleSet) -> None:
        self._current = initial

    @property
    def current(self) -> RuleSet:
        return self._current

    def swap(self, new: RuleSet) -> RuleSet:
        """Put ``new`` in force and return the rule set it replaced."""
        old, self._current = self._current, new
        return old


class ChatPrefs:
    """Every chat's ``/settings`` in memory (loaded at start, updated by ``/settings``), so the
    sink and the handlers read them without a query per message. Holds state; does no I/O."""

    def __init__(self) -> None:
        self._chats: dict[int, ChatSettings] = {}

    def load(self, chats: Mapping[int, ChatSettings]) -> None:
        self._chats = dict(chats)

    def get(self, chat_id: int) -> ChatSettings:
        return self._chats.get(chat_id, _DEFAULT_CHAT)

    def put(self, chat_id: int, settings: ChatSettings) -> None:
        self._chats[chat_id] = settings

    def follow_migration(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its settings now belong to the new id (as in storage,
        where a row the new id already has wins)."""
        moved = self._chats.pop(old_chat_id, None)
        if moved is not None:
            self._chats.setdefault(new_chat_id, moved)

    def tz(self, chat_id: int, default: ZoneInfo) -> ZoneInfo:
        """The chat's time zone, else ``default`` (an unknown stored name falls back too)."""
        name = self.get(chat_id).timezone
        if name is None:
            return default
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return default


_DEFAULT_CHAT = ChatSettings()


@dataclass(slots=True)
class Services:
    settings: Settings
    feeds: FeedsConfig
    storage: Storage
    rules: RuleHolder
    clock: Clock
    # The app's own metrics (App passes its one); a Services built alone counts in a fresh,
    # private registry, so parts under test never share counts.
    metrics: Metrics = field(default_factory=Metrics)
    # Per-chat /settings (#16); empty (every chat on the defaults) unless loaded.
    chat_prefs: ChatPrefs = field(default_factory=ChatPrefs)
