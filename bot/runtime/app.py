"""The running bot: builds every part from settings, starts them in order, stops them in reverse.

Start: storage (migrations) -> feeds synced -> rules loaded -> fetcher -> Telegram (or the
console) -> health endpoint -> outbox sender -> rules and feeds watchers -> scheduler (polls).
Stop (SIGINT/SIGTERM): the scheduler takes no new polls, an in-flight poll gets a short grace
period to store what it fetched, the sender is cancelled between requests (an interrupted send
stays "sending" and is resent on the next start), Telegram polling stops, the database closes.
Contains no business logic of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import html
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.feeds_file import FeedsConfig, load_feeds_file
from bot.config.rule_files import read_rule_sources
from bot.config.settings import Settings, safe_database_url
from bot.delivery.console_sink import CONSOLE_CHAT_ID, ConsoleSink
from bot.delivery.digests import DigestScheduler
from bot.delivery.outbox import OutboxSender
from bot.delivery.sink import AlertSink, DeferredSink
from bot.ops.http_health import (
    HealthServer,
    ReadinessCheck,
    flag_check,
    storage_check,
    telegram_check,
)
from bot.ops.metrics import LoopLagMonitor, Metrics
from bot.runtime.admin_actions import AppAdminActions
from bot.runtime.feeds_reloader import FeedsReloader
from bot.runtime.pipeline import Pipeline
from bot.runtime.rules_reloader import RuleReloader
from bot.services import RuleHolder, Services
from bot.telegram.runtime import TelegramRuntime
from bot.web import ConsoleDeps, LoginLinks, mount_console
from core.clock import Clock, SystemClock
from core.errors import DeliveryError, NewswatchError
from core.models import Chat, ChatType, RenderedMessage
from rules import RuleSet
from rules.cache import RuleCache
from rules.loader import load_off_loop
from storage.sql import SqlStorage
from watchers.feed_health import feeds_to_report, mark_reported
from watchers.fetch import FeedFetcher
from watchers.parsepool import close_default_parse_pool
from watchers.schedule import PollSettings

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 4.0  # for a poll in flight to store what it fetched
SEND_GRACE_S = 3.0  # for an alert in flight to be accepted and marked sent
HEALTH_REPORT_INTERVAL_S = 600
DIGEST_CHECK_INTERVAL_S = 30


def poll_settings_from(settings: Settings, feeds: FeedsConfig) -> PollSettings:
    """The watchers' polling policy, from the settings and the feeds file's defaults."""
    return PollSettings(
        default_interval_s=feeds.default_interval_s,
        adaptive=feeds.adaptive,
        min_interval_s=min(feeds.min_interval_s, feeds.default_interval_s),
        max_interval_s=feeds.max_interval_s,
        allow_private=settings.allow_private_feed_addresses,
        alert_on_first_poll=settings.alert_on_first_poll,
    )


class App:
    """One newswatch process. ``await app.start()``, later ``await app.stop()``.

    ``background=False`` starts no scheduler, sender or file watchers: the caller drives
    ``pipeline.run_cycle()`` and ``sender.drain_once()`` itself (the demo does).
    """

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
        # This app's metrics: /metrics serves them, and Services hands them to what records.
        self.metrics = Metrics()
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox_task: asyncio.Task[None] | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._fetcher: FeedFetcher | None = None
        self._telegram: TelegramRuntime | None = None
        self._health: HealthServer | None = None
        self._loop_lag: LoopLagMonitor | None = None
        self.services: Services | None = None
        self.pipeline: Pipeline | None = None
        self.sender: OutboxSender | None = None
        self.reloader: RuleReloader | None = None
        self.feeds_reloader: FeedsReloader | None = None
        self.digests: DigestScheduler | None = None
        # The console's one-time login links: issued by /web, redeemed by the console.
        self.login_links = LoginLinks()

    # ------------------------------------------------------------------------------- start
    async def start(self) -> None:
        settings = self.settings
        feeds = load_feeds_file(settings.feeds_file, settings.poll_interval_s)
        cache_dir = settings.rules_cache_dir
        rules_cache = None if cache_dir is None else RuleCache(cache_dir)
        rule_sources = read_rule_sources(settings.rules_dir)
        # the reloader's path: from the cache when these files were compiled before, else in
        # a worker process (whose peak memory is not the bot's), small sets right here
        ruleset = await load_off_loop(rule_sources, rules_cache, between=gc.freeze)
        storage = SqlStorage(settings.database_url)
        await storage.open()
        self.services = services = Services(
            settings, feeds, storage, RuleHolder(ruleset), self.clock, self.metrics
        )
        try:
            await storage.sync_feeds(feeds.feeds, self.clock.now())
            poll_settings = poll_settings_from(settings, feeds)
            self._fetcher = FeedFetcher.from_poll_settings(
                poll_settings, user_agent=settings.user_agent
            )
            await self._fetcher.__aenter__()
            self.reloader = RuleReloader(
                settings.rules_dir,
                services.rules,
                on_error=self._rules_rejected,
                on_reload=self._rules_swapped,
                cache=rules_cache,
            )
            self.reloader.mark_loaded(rule_sources)
            self.feeds_reloader = FeedsReloader(services, on_error=self.notify_admins)
            sink = await self._start_alerts(services)
            self.sender = OutboxSender(services, sink)
            self.digests = DigestScheduler(services, on_queued=self.sender.wake)
            self.pipeline = Pipeline(
                services,
                self._fetcher,
                poll_settings,
                on_deliveries_queued=self.sender.wake,
            )
            if self._background:
                await self._start_health(services)
                self._start_background(self.pipeline, self.sender)
        except BaseException:
            await self.stop()
            raise
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # collector's sweeps, which otherwise show up as event-loop pauses (docs/watchers.md).
        gc.freeze()
        log.info(
            "newswatch started: %d feeds, %d rules, database %s",
            len(feeds.feeds),
            len(ruleset.rules),
            safe_database_url(settings.database_url),
        )

    async def _start_alerts(self, services: Services) -> AlertSink:
        if self.settings.telegram_bot_token is None:
            await self._subscribe_console_to_all()
            self._out.write(
                "No TELEGRAM_BOT_TOKEN set: alerts are printed here, in this console.\n"
            )
            self._out.flush()
            return self._sink_override or ConsoleSink(self.settings.tz, self._out)
        assert self.reloader is not None
        assert self.feeds_reloader is not None
        assert self._fetcher is not None
        actions = AppAdminActions(
            services,
            fetcher=self._fetcher,
            reload_rules=self.reloader.reload_now,
            reload_feeds=self.feeds_reloader.reload_now,
        )
        self._telegram = TelegramRuntime(services, admin_actions=actions, web_login=self)
        deferred = DeferredSink()
        try:
            deferred.target = await self._telegram.start()
        except DeliveryError as e:
            # Keep polling and queueing; alerts wait in the outbox until Telegram answers.
            log.warning("%s; alerts wait in the outbox while newswatch keeps retrying", e)
            self._spawn(self._connect_telegram_later(deferred), "telegram-connect")
        return self._sink_override or deferred

    async def _connect_telegram_later(self, deferred: DeferredSink) -> None:
        """Retry Telegram's start-up with backoff (5 s doubling to 5 min) until it works."""
        assert self._telegram is not None
        delay = 5.0
        while True:
            await asyncio.sleep(delay)
            try:
                deferred.target = await self._telegram.start()
            except DeliveryError as e:
                log.warning("%s; retrying in %.0f s", e, min(delay * 2, 300.0))
                delay = min(delay * 2, 300.0)
                continue
            log.info("Telegram connected; sending the alerts that waited")
            if self.sender is not None:
                self.sender.wake()
            return

    async def _start_health(self, services: Services) -> None:
        if not self.settings.health_addr:
            return
        health = HealthServer(self.settings.health_addr, self.metrics)
        health.add_check("database", storage_check(services.storage))
        health.add_check(
            "scheduler",
            flag_check(
                lambda: self._scheduler is not None and self._scheduler.running,
                "the poll scheduler is not running",
            ),
        )
        if self._telegram is not None:
            health.add_check("telegram", self._telegram_ready_check())
        if self._console_enabled():
            health.mount(lambda app: mount_console(app, self._console_deps(services)))
        await health.start()
        self._health = health
        self._loop_lag = LoopLagMonitor(self.metrics)
        self._loop_lag.start()

    def _console_enabled(self) -> bool:
        return self.settings.extra.get("NEWSWATCH_WEB", "on").strip().lower() not in (
            "off",
            "0",
            "false",
            "no",
        )

    def _console_deps(self, services: Services) -> ConsoleDeps:
        """The web console's parts: storage's console queries, the rules reloader, the same
        feed actions as /addfeed and /removefeed, and this app's login links."""
        assert self.reloader is not None
        assert self.feeds_reloader is not None
        assert self._fetcher is not None
        assert isinstance(services.storage, SqlStorage)
        extra = self.settings.extra
        actions = AppAdminActions(
            services,
            fetcher=self._fetcher,
            reload_rules=self.reloader.reload_now,
            reload_feeds=self.feeds_reloader.reload_now,
        )
        return ConsoleDeps(
            services,
            services.storage,
            self.reloader.reload_now,
            actions,
            self.login_links,
            web_token=extra.get("NEWSWATCH_WEB_TOKEN") or None,
            secret=extra.get("NEWSWATCH_WEB_SECRET") or None,
        )

    def login_link(self, user_id: int, admin: bool) -> str | None:
        """A one-time console link for ``/web`` (None when the console is not served)."""
        if not self._console_enabled() or not self.settings.health_addr:
            return None
        base = self.settings.extra.get("NEWSWATCH_WEB_URL") or f"http://{self.settings.health_addr}"
        return f"{base.rstrip('/')}/login/{self.login_links.issue(user_id, admin)}"

    def _telegram_ready_check(self) -> ReadinessCheck:
        """Telegram answers getMe; fails while the bot has not connected yet."""
        inner: ReadinessCheck | None = None

        async def check() -> object:
            nonlocal inner
            telegram = self._telegram
            if telegram is None or not telegram.started:
                raise RuntimeError("not connected to Telegram yet (retrying)")
            if inner is None:
                inner = telegram_check(telegram.application.bot)
            return await inner()

        return check

    def _start_background(self, pipeline: Pipeline, sender: OutboxSender) -> None:
        """The long-running parts: outbox sender, file watchers, scheduled jobs."""
        assert self.reloader is not None
        assert self.feeds_reloader is not None
        self._outbox_task = self._spawn(sender.run(), "outbox")
        self._spawn(self.reloader.run(), "rules-watch")
        self._spawn(self.feeds_reloader.run(), "feeds-watch")
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            pipeline.run_cycle,
            "interval",
            seconds=self.settings.tick_s,
            next_run_time=self.clock.now(),
            max_instances=1,
            coalesce=True,
            id="poll",
        )
        scheduler.add_job(
            self._prune, "interval", hours=6, max_instances=1, coalesce=True, id="prune"
        )
        assert self.digests is not None
        scheduler.add_job(
            self.digests.run_once,
            "interval",
            seconds=DIGEST_CHECK_INTERVAL_S,
            max_instances=1,
            coalesce=True,
            id="digests",
        )
        scheduler.add_job(
            self._report_feed_health,
            "interval",
            seconds=HEALTH_REPORT_INTERVAL_S,
            max_instances=1,
            coalesce=True,
            id="feed-health",
        )
        scheduler.start()
        self._scheduler = scheduler

    async def _subscribe_console_to_all(self) -> None:
        assert self.services is not None
        storage = self.services.storage
        await storage.upsert_chat(Chat(id=CONSOLE_CHAT_ID, type=ChatType.CONSOLE, title="console"))
        for rule in self.services.rules.current.rules:
            await storage.subscribe(CONSOLE_CHAT_ID, rule.id)

    def _spawn(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                self.metrics.errors.labels(kind="internal").inc()
                log.exception("background task %s crashed", name)

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.append(task)
        return task

    # --------------------------------------------------------------------------- callbacks
    async def notify_admins(self, text: str) -> None:
        """Tell the operators something needs attention: always in the log, and with Telegram
        as a notice to each admin, queued in the outbox like an alert (paced, recorded as
        "sending" before the request, kept while Telegram is unreachable). Never raises."""
        log.warning("admin notice: %s", text)
        admins = self.settings.admin_ids
        if self.settings.telegram_bot_token is None or not admins or self.services is None:
            return
        plain = text[:4000]
        page = RenderedMessage(html.escape(plain, quote=False), plain, disable_notification=False)
        try:
            await self.services.storage.queue_notice(sorted(admins), [page], self.clock.now())
        except NewswatchError as e:
            log.error("could not queue the admin notice: %s", e)
            return
        if self.sender is not None:
            self.sender.wake()

    async def _rules_rejected(self, message: str) -> None:
        self.metrics.errors.labels(kind="rules").inc()
        await self.notify_admins(
            f"Rule change rejected; the previous rules stay in force.\n{message}"
        )

    async def _rules_swapped(self, new: RuleSet, old: RuleSet) -> None:
        assert self.services is not None
        log.info("rules reloaded: %d rules in force (were %d)", len(new.rules), len(old.rules))
        if self.settings.telegram_bot_token is None:
            await self._subscribe_console_to_all()
        known = {r.id for r in new.rules}
        subscribed = await self.services.storage.subscribed_rule_ids()
        missing = sorted(set(subscribed) - known)
        if missing:
            await self.notify_admins(
                "Chats are subscribed to rules that no longer exist (the subscriptions are "
                "kept and resume if the rules come back): " + ", ".join(missing)
            )

    async def _prune(self) -> None:
        assert self.services is not None
        removed = await self.services.storage.prune(self.clock.now(), self.settings.retention_days)
        if removed:
            log.info("retention: pruned %d old rows", removed)

    async def _report_feed_health(self) -> None:
        """Tell admins, once per problem, about feeds that fail for a day or went silent."""
        assert self.services is not None
        storage, now = self.services.storage, self.clock.now()
        for report in feeds_to_report(await storage.list_feeds(), now):
            await self.notify_admins(report.message)
            state = await storage.get_feed(report.url)
            if state is not None:
                await storage.save_feed_state(mark_reported(state, now))

    # -------------------------------------------------------------------------------- stop
    async def stop(self) -> None:
        """Stop in reverse order of start. Safe to call twice, or after a failed start."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self.pipeline is not None:
            # Let an in-flight poll store what it fetched (re-storing is harmless anyway).
            await self.pipeline.wait_idle(SHUTDOWN_GRACE_S)
        if self.sender is not None and self._outbox_task is not None:
            # Let a send in flight finish and be marked sent, rather than resent next start.
            self.sender.request_stop()
            await asyncio.wait([self._outbox_task], timeout=SEND_GRACE_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._loop_lag is not None:
            await self._loop_lag.stop()
            self._loop_lag = None
        if self._health is not None:
            await self._health.stop()
            self._health = None
        if self._telegram is not None:
            await self._telegram.stop()
            self._telegram = None
        if self._fetcher is not None:
            await self._fetcher.__aexit__(None, None, None)
            self._fetcher = None
        await asyncio.to_thread(close_default_parse_pool)
        if self.services is not None:
            await self.services.storage.close()
            self.services = None


async def run_until_signalled(
    settings: Settings, *, on_started: Callable[[App], None] | None = None
) -> None:
    """Run the bot until SIGINT or SIGTERM, then stop cleanly (within 10 seconds)."""
    app = App(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    await app.start()
    log.info("ready in %.1f s; Ctrl-C (or SIGTERM) stops", time.monotonic() - started)
    if on_started is not None:
        on_started(app)
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        try:
            await asyncio.wait_for(app.stop(), timeout=9.0)
        except TimeoutError:
            # Whatever was in flight is recorded as such and is resumed by the next start.
            log.error("did not stop within 9 s; exiting anyway")
        else:
            log.info("stopped")
