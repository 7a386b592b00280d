"""A running bot for handler tests: the real PTB Application polling the fake Bot API server.

``running_bot(storage=...)`` opens the storage, starts everything and stops it cleanly (updater,
application, server, storage) in well under a second. ``STORAGE_FACTORIES`` lists the storages
the handler tests run against: the in-memory fake and the real SqlStorage on SQLite. Tests put
data in and read it back only through the ``Storage`` protocol (``subs``, ``details``,
``is_active`` and ``seed`` below), so every storage gets the same checks.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.personal_rules import PersonalRules
from bot.services import RuleHolder, Services
from bot.telegram.handlers import AdminActions, register_handlers
from bot.telegram.handlers.stories import StorySplitter
from core.clock import FakeClock
from core.errors import ConfigError
from core.models import Article, FeedConfig, Hit, Language, Priority, RuleInfo, RuleMatch
from rules import compile_ruleset
from storage.base import Subscription
from storage.sql import SqlStorage
from tests.fakes.memory_storage import MemoryStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits, SentMessage

PUBLISHED = datetime(2025, 7, 11, 10, 0, tzinfo=UTC)
USER = 1001
ADMIN = 9001
OTHER = 1002
GROUP = -4001
FORUM = -1004002
CHANNEL = -1004003

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
    """What the handlers use of ``rules.RuleSet``: ``rules``, ``get`` and ``hits_for`` (which
    finds nothing: these rules have no terms)."""

    def __init__(self, rules: Sequence[RuleInfo]) -> None:
        self.rules = tuple(rules)

    def get(self, rule_id: str) -> RuleInfo | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def __len__(self) -> int:
        return len(self.rules)

    def hits_for(
        self, article: Article, rule_ids: Iterable[str], *, if_true: bool = True
    ) -> dict[str, tuple[Hit, ...]]:
        return {}


@dataclass
class RecordingAdminActions:
    """AdminActions that remember their calls (and the language each was asked in:
    ``languages``); ``fail`` makes the next call raise. Their replies are English."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    fail: str | None = None
    languages: list[Language | None] = field(default_factory=list)

    def _record(self, name: str, arg: str = "") -> None:
        self.calls.append((name, arg))
        if self.fail:
            message, self.fail = self.fail, None
            raise ConfigError(message)

    async def add_feed(self, url: str, language: Language | None = None) -> str:
        self.languages.append(language)
        self._record("add_feed", url)
        return f"Added {url}; first poll in a moment."

    async def remove_feed(self, url: str, language: Language | None = None) -> str:
        self.languages.append(language)
        self._record("remove_feed", url)
        return f"Removed {url}."

    async def set_feed_enabled(
        self, url: str, enabled: bool, language: Language | None = None
    ) -> str:
        self.languages.append(language)
        self._record("set_feed_enabled", f"{url} {enabled}")
        return f"{'Resumed' if enabled else 'Paused'} {url}."

    async def reload_rules(self, language: Language | None = None) -> str:
        self.languages.append(language)
        self._record("reload_rules")
        return "Reloaded 7 rules from 1 file."

    async def status_text(self, language: Language | None = None) -> str:
        return "Scheduler: 3 feeds due in the next minute."


STORAGE_FACTORIES: dict[str, Callable[[Path], Any]] = {
    "memory": lambda _tmp: MemoryStorage(),
    "sqlite": lambda tmp: SqlStorage(f"sqlite+aiosqlite:///{tmp / 'newswatch.db'}"),
}


@dataclass
class RunningBot:
    tg: FakeTelegramServer
    storage: Any
    services: Services
    application: Any
    clock: FakeClock
    admin_actions: RecordingAdminActions
    personal: PersonalRules

    feeds: list[FeedConfig] = field(default_factory=list)

    async def ingest(
        self, title: str, rule_id: str, minutes: float = 0, *, also: Sequence[str] = ()
    ) -> None:
        """Store an article matched by ``rule_id`` and the rules in ``also`` (queuing alerts
        for their subscribers)."""
        identity = f"guid:{title}"
        content = "The comprehensive strategic partnership was discussed at length."
        article = Article(
            feed_url="https://news.example/rss",
            identity=identity,
            title=title,
            link="https://news.example/" + re.sub(r"\W+", "-", title.lower()).strip("-"),
            content=content,
            published_at=PUBLISHED,
        )
        hits = (Hit("comprehensive", "content", 4, 17),)
        matches = [RuleMatch(r, hits) for r in (rule_id, *also)]
        now = self.clock.now() + timedelta(minutes=minutes)
        await self.storage.ingest(article, matches, now)

    async def add_feed(self, url: str, name: str | None = None, **state: Any) -> None:
        """Configure a feed and give it the stored health ``state`` (FeedState fields)."""
        self.feeds.append(FeedConfig(url=url, name=name))
        await self.storage.sync_feeds(self.feeds, self.clock.now())
        stored = await self.storage.get_feed(url)
        assert stored is not None
        await self.storage.save_feed_state(replace(stored, **state))

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
    rule_sources: Mapping[str, str] | None = None,
    config_dir: Path = Path("config"),
    personal_limit: int = 20,
    stories: StorySplitter | None = None,
    admin_actions: Callable[[Services], AdminActions] | None = None,
) -> AsyncIterator[RunningBot]:
    """With ``rule_sources`` the rules in force are really compiled from them (and the personal
    rules saved from the chat are compiled in with them, as the rules reloader does); without,
    ``rules`` stand in for them. ``admin_actions`` makes the handlers' ``AdminActions`` from the
    services (the real ``AppAdminActions``, say) instead of the recording ones."""
    store = storage if storage is not None else MemoryStorage()
    await store.open()
    clock = FakeClock()
    settings = Settings(
        telegram_bot_token=DEFAULT_TOKEN,
        admin_ids=frozenset(admin_ids),
        allowed_ids=frozenset(allowed_ids),
        timezone="Asia/Ho_Chi_Minh",
        config_dir=config_dir,
        personal_rules_per_chat=personal_limit,
    )
    holder = RuleHolder(
        compile_ruleset(rule_sources) if rule_sources is not None else FakeRuleSet(rules)  # type: ignore[arg-type]
    )
    services = Services(
        settings=settings,
        feeds=FeedsConfig(default_interval_s=300.0, feeds=()),
        storage=store,
        rules=holder,
        clock=clock,
    )
    services.chat_prefs.load(await store.chat_settings())
    personal = PersonalRules(services)
    if rule_sources is not None:
        files = dict(rule_sources)

        async def rebuild() -> None:
            holder.swap(compile_ruleset(personal.compose(files)))

        personal.rebuild = rebuild
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
        if admin_actions is not None:
            admin = admin_actions(services)
        register_handlers(application, services, admin, stories=stories, personal=personal)
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            timeout=1, poll_interval=0, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield RunningBot(tg, store, services, application, clock, actions, personal)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
            await store.close()


async def subs(rb: RunningBot, chat_id: int) -> set[str]:
    return set(await rb.storage.subscriptions(chat_id))


async def is_active(rb: RunningBot, chat_id: int) -> bool:
    chat = await rb.storage.get_chat(chat_id)
    assert chat is not None
    return bool(chat.active)


async def details(rb: RunningBot, chat_id: int) -> dict[str, Subscription]:
    return {s.rule_id: s for s in await rb.storage.subscription_details(chat_id)}


async def seed(rb: RunningBot) -> None:
    """Two stored matches: one for #csp, one for #unclos a minute later."""
    await rb.ingest("Vietnam <and> US deepen CSP", "csp")
    await rb.ingest("East Sea & UNCLOS talks", "unclos", minutes=1)
