"""The running application's shared parts.

``Services`` is handed to the pipeline, the outbox sender and the Telegram handlers, so each
reaches storage, the current rules, settings, the clock and the app's metrics the same way;
``RuleHolder`` holds the rule set in force across reloads. Holds state; does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.ops.metrics import Metrics
from core.clock import Clock
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
