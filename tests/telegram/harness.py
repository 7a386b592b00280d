"""A running bot for handler tests: the real PTB Application polling the fake Bot API server.

``running_bot(storage=...)`` starts everything and stops it cleanly (updater, application,
server) in well under a second. Pass another ``Storage`` (the real SqlStorage) to run the same
handler tests against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.config import FeedsConfig, Settings
from bot.services import RuleHolder, Services
from bot.telegram_handlers import AdminActions, register_handlers
from core.clock import FakeClock
from core.errors import ConfigError
from core.models import Priority, RuleInfo
from tests.fakes.memory_storage import MemoryStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits, SentMessage

USER = 1001
ADMIN = 9001
OTHER = 1002

RULES = (
    RuleInfo(
        id="csp",
        name="Comprehensive Strategic Partnership",
        description="Upgrades of bilateral ties to a Comprehensive Strategic Partnership.",
    ),
    RuleInfo(
        id="unclos",
        name="UNCLOS / East Sea",
        description="The law of the sea & disputes <in> the East Sea.",
        priority=Priority.HIGH,
    ),
    RuleInfo(id="us", name="United States"),
    RuleInfo(id="japan", name="Japan"),
    RuleInfo(id="eu", name="European Union"),
    RuleInfo(id="asean", name="ASEAN"),
    RuleInfo(id="x" * 70, name="A rule with a very long id"),
)


class FakeRuleSet:
    """What the handlers use of ``rules.RuleSet``: ``rules`` and ``get``."""

    def __init__(self, rules: Sequence[RuleInfo]) -> None:
        self.rules = tuple(rules)

    def get(self, rule_id: str) -> RuleInfo | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def __len__(self) -> int:
        return len(self.rules)


@dataclass
class RecordingAdminActions:
    """AdminActions that remember their calls; ``fail`` makes the next call raise."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    fail: str | None = None

    def _record(self, name: str, arg: str = "") -> None:
        self.calls.append((name, arg))
        if self.fail:
            message, self.fail = self.fail, None
            raise ConfigError(message)

    async def add_feed(self, url: str) -> str:
        self._record("add_feed", url)
        return f"Added {url}; first poll in a moment."

    async def remove_feed(self, url: str) -> str:
        self._record("remove_feed", url)
        return f"Removed {url}."

    async def reload_rules(self) -> str:
        self._record("reload_rules")
        return "Reloaded 7 rules from 1 file."

    async def status_text(self) -> str:
        return "Scheduler: 3 feeds due in the next minute."


@dataclass
class RunningBot:
    tg: FakeTelegramServer
    storage: Any
    services: Services
    application: Any
    clock: FakeClock
    admin_actions: RecordingAdminActions

    async def say(
        self,
        text: str,
        chat_id: int = USER,
        user_id: int | None = None,
        chat_type: str = "private",
        *,
        thread_id: int | None = None,
        replies: int = 1,
    ) -> list[SentMessage]:
        """Type ``text`` as a user and wait for the bot's ``replies`` new messages there."""
        before = len(self.tg.messages(chat_id))
        self.tg.user_sends(text, chat_id, user_id, chat_type, thread_id=thread_id)
        sent = await self.tg.wait_for_messages(before + replies, chat_id=chat_id)
        return sent[before:]

    async def ask(self, text: str, chat_id: int = USER, **kwargs: Any) -> SentMessage:
        """``say`` and return the single reply."""
        [reply] = await self.say(text, chat_id, **kwargs)
        return reply

    async def press(self, message: SentMessage, button_text: str, user_id: int = USER) -> str:
        """Press a button and wait until the bot answered the callback; returns the answer."""
        data = message.button(button_text)["callback_data"]
        query_id = self.tg.user_presses(data, message, user_id)
        await self.tg.wait_for(
            lambda: any(a["callback_query_id"] == query_id for a in self.tg.callback_answers),
            what="callback answer",
        )
        answer = next(a for a in self.tg.callback_answers if a["callback_query_id"] == query_id)
        return str(answer["text"] or "")

    async def idle(self) -> None:
        """Wait until every queued update was fetched and handled (a round trip with /status)."""
        await self.ask("/status", chat_id=ADMIN)


@asynccontextmanager
async def running_bot(
    *,
    storage: Any | None = None,
    allowed_ids: Sequence[int] = (),
    admin_ids: Sequence[int] = (ADMIN,),
    rules: Sequence[RuleInfo] = RULES,
    with_admin_actions: bool = True,
) -> AsyncIterator[RunningBot]:
    store = storage if storage is not None else MemoryStorage()
    clock = FakeClock()
    settings = Settings(
        telegram_bot_token=DEFAULT_TOKEN,
        admin_ids=frozenset(admin_ids),
        allowed_ids=frozenset(allowed_ids),
        timezone="Asia/Ho_Chi_Minh",
    )
    services = Services(
        settings=settings,
        feeds=FeedsConfig(default_interval_s=300.0, feeds=()),
        storage=store,
        rules=RuleHolder(FakeRuleSet(rules)),  # type: ignore[arg-type]
        clock=clock,
    )
    actions = RecordingAdminActions()
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as tg:
        application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(DEFAULT_TOKEN)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        admin: AdminActions | None = actions if with_admin_actions else None
        register_handlers(application, services, admin)
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            timeout=1, poll_interval=0, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield RunningBot(tg, store, services, application, clock, actions)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
