"""The running bot: builds every part from settings, starts them in order, stops them in reverse.

Start: storage (migrations) -> feeds synced -> rules loaded -> fetcher -> Telegram (or console)
-> outbox sender -> scheduler (polls) -> rule-folder watcher. Stop (SIGINT/SIGTERM): the
scheduler stops taking new polls, in-flight work gets a short grace period, the sender is
cancelled between requests (an interrupted send stays "sending" and is resent on the next start),
Telegram polling stops, the database closes. Contains no business logic of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.clock import Clock, SystemClock
from core.models import Chat
from storage.sql import SqlStorage
from watchers.fetch import FeedFetcher

from .config import FeedsConfig, Settings, load_feeds_file
from .console import CONSOLE_CHAT_ID, ConsoleSink
from .outbox import OutboxSender
from .pipeline import Pipeline
from .rule_files import load_rules_dir
from .rule_reload import RuleReloader
from .services import AlertSink, RuleHolder, Services
from .telegram_runtime import TelegramRuntime
from .watch_settings import poll_settings_from

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 5.0


class App:
    """One newswatch process. ``await app.start()``, later ``await app.stop()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        out: TextIO | None = None,
        sink: AlertSink | None = None,
        background: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._out = out or sys.stdout
        self._sink_override = sink
        self._background = background
        self._tasks: list[asyncio.Task[None]] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._fetcher: FeedFetcher | None = None
        self._telegram: TelegramRuntime | None = None
        self.services: Services | None = None
        self.pipeline: Pipeline | None = None
        self.sender: OutboxSender | None = None
        self.reloader: RuleReloader | None = None

    # ------------------------------------------------------------------------------- start
    async def start(self) -> None:
        settings = self.settings
        feeds: FeedsConfig = load_feeds_file(settings.feeds_file, settings.poll_interval_s)
        ruleset = load_rules_dir(settings.rules_dir)
        storage = SqlStorage(settings.database_url)
        await storage.open()
        try:
            await storage.sync_feeds(feeds.feeds, self.clock.now())
            holder = RuleHolder(ruleset)
            self.services = services = Services(settings, feeds, storage, holder, self.clock)
            self._fetcher = FeedFetcher(
                user_agent=settings.user_agent,
                allow_private=settings.allow_private_feed_addresses,
            )
            await self._fetcher.__aenter__()
            sink = await self._start_alerts(services)
            self.sender = OutboxSender(services, sink)
            self.pipeline = Pipeline(
                services,
                self._fetcher,
                poll_settings_from(settings, feeds),
                on_deliveries_queued=self.sender.wake,
            )
            self.reloader = RuleReloader(
                settings.rules_dir,
                holder,
                on_error=self._rules_rejected,
                on_reload=self._rules_swapped,
            )
            if self._background:
                self._start_background(self.pipeline, self.sender, self.reloader)
        except BaseException:
            await self.stop()
            raise
        log.info(
            "newswatch started: %d feeds, %d rules, database %s",
            len(feeds.feeds),
            len(ruleset.rules),
            _redact_db(settings.database_url),
        )

    def _start_background(
        self, pipeline: Pipeline, sender: OutboxSender, reloader: RuleReloader
    ) -> None:
        """The long-running parts: outbox sender, rule-folder watcher, scheduled polls."""
        self._spawn(sender.run(), "outbox")
        self._spawn(reloader.run(), "rules-watch")
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.add_job(
            pipeline.run_cycle,
            "interval",
            seconds=self.settings.tick_s,
            next_run_time=self.clock.now(),
            max_instances=1,
            coalesce=True,
            id="poll",
        )
        self._scheduler.add_job(
            self._prune, "interval", hours=6, max_instances=1, coalesce=True, id="prune"
        )
        self._scheduler.start()

    async def _start_alerts(self, services: Services) -> AlertSink:
        if self.settings.telegram_bot_token is None:
            await self._subscribe_console_to_all()
            self._out.write(
                "No TELEGRAM_BOT_TOKEN set: alerts are printed here, in this console.\n"
            )
            self._out.flush()
            return self._sink_override or ConsoleSink(self.settings.tz, self._out)
        self._telegram = TelegramRuntime(services, admin_notifier=self.notify_admins)
        return await self._telegram.start()

    async def _subscribe_console_to_all(self) -> None:
        assert self.services is not None
        storage = self.services.storage
        await storage.upsert_chat(Chat(id=CONSOLE_CHAT_ID, type="console", title="console"))
        for rule in self.services.rules.current.rules:
            await storage.subscribe(CONSOLE_CHAT_ID, rule.id)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s crashed", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    # --------------------------------------------------------------------------- callbacks
    async def notify_admins(self, text: str) -> None:
        """Tell the operators something went wrong (Telegram admins, and always the log)."""
        log.warning("admin notice: %s", text)
        if self._telegram is not None:
            await self._telegram.notify_admins(text)

    async def _rules_rejected(self, message: str) -> None:
        await self.notify_admins(
            f"Rule change rejected; the previous rules stay in force.\n{message}"
        )

    async def _rules_swapped(self, new: object, old: object) -> None:
        assert self.services is not None
        ruleset = self.services.rules.current
        log.info("rules reloaded: %d rules in force", len(ruleset.rules))
        if self.settings.telegram_bot_token is None:
            await self._subscribe_console_to_all()
        known = {r.id for r in ruleset.rules}
        orphaned = await self.services.storage.subscribed_rule_ids()
        missing = sorted(set(orphaned) - known)
        if missing:
            await self.notify_admins(
                "Chats are subscribed to rules that no longer exist (kept; they resume if the "
                "rules come back): " + ", ".join(missing)
            )

    async def _prune(self) -> None:
        assert self.services is not None
        removed = await self.services.storage.prune(self.clock.now(), self.settings.retention_days)
        if removed:
            log.info("retention: pruned %d old rows", removed)

    # -------------------------------------------------------------------------------- stop
    async def stop(self) -> None:
        """Stop in reverse order of start. Safe to call more than once, or after a failed start."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self.pipeline is not None:
            # Let an in-flight poll finish storing what it fetched (it is idempotent anyway).
            await self.pipeline.wait_idle(SHUTDOWN_GRACE_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._telegram is not None:
            await self._telegram.stop()
            self._telegram = None
        if self._fetcher is not None:
            await self._fetcher.__aexit__(None, None, None)
            self._fetcher = None
        if self.services is not None:
            await self.services.storage.close()
            self.services = None


def _redact_db(url: str) -> str:
    """Database URL without its password, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


async def run_until_signalled(
    settings: Settings, *, on_started: Callable[[App], None] | None = None
) -> None:
    """Run the bot until SIGINT or SIGTERM, then stop cleanly."""
    app = App(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    if on_started is not None:
        on_started(app)
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        await asyncio.wait_for(app.stop(), timeout=timedelta(seconds=9).total_seconds())
        log.info("stopped")
