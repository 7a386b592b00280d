"""The running bot: builds every part from settings, starts them in order, stops them in reverse.

Start: storage (migrations) -> feeds synced -> rules loaded -> fetcher -> Telegram (or the
console) -> health endpoint -> outbox sender -> rules and feeds watchers -> the poll loop (each
feed on its own clock) and the scheduler (prune, digests, feed health) -> the watchdog.
Stop (SIGINT/SIGTERM): no new polls start, polls in flight get a short grace period to store
what they fetched, the sender is cancelled between requests (an interrupted send stays
"sending" and is resent on the next start), Telegram polling stops, the database closes; a
clean stop logs no error. Contains no business logic of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.feeds_file import FeedsConfig, load_feeds_file
from bot.config.rule_files import read_rule_sources
from bot.config.settings import Settings, safe_database_url
from bot.delivery.catchup import CATCH_UP_EVERY_S, CatchUpScheduler
from bot.delivery.console_sink import CONSOLE_CHAT_ID, ConsoleSink
from bot.delivery.digests import DigestScheduler
from bot.delivery.outbox import OutboxSender
from bot.delivery.sink import AlertSink, DeferredSink
from bot.ops.http_health import (
    HealthServer,
    flag_check,
    storage_check,
)
from bot.ops.metrics import LoopLagMonitor, Metrics
from bot.ops.watchdog import ProgressWatchdog
from bot.runtime import self_service
from bot.runtime.admin_actions import AppAdminActions
from bot.runtime.admin_notices import AdminNotices
from bot.runtime.console_wiring import ConsoleRole
from bot.runtime.feeds_reloader import FeedsReloader
from bot.runtime.leadership import SEND_GRACE_S, SenderRole, quiet_on_cancel
from bot.runtime.maintenance import maintain
from bot.runtime.pipeline import Pipeline
from bot.runtime.rules_reloader import RuleReloader
from bot.runtime.story_grouping import StoryGrouper
from bot.runtime.supervision import supervised
from bot.runtime.webhook_wiring import WebhookRole
from bot.services import RuleHolder, Services
from bot.telegram.runtime import TelegramRuntime
from bot.trends.alerts import CHECK_INTERVAL_S as TREND_CHECK_INTERVAL_S
from bot.trends.alerts import TrendAlerts
from bot.web import LoginLinks, mount_console
from core.clock import Clock, SystemClock
from core.errors import DeliveryError
from core.models import Chat, ChatType
from rules.cache import RuleCache
from rules.loader import load_off_loop
from storage.sql import SqlStorage
from watchers.fetch import FeedFetcher
from watchers.parsepool import ParsePool, close_default_parse_pool
from watchers.schedule import PollSettings

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 4.0  # for a poll in flight to store what it fetched
HEALTH_REPORT_INTERVAL_S = 600
DIGEST_CHECK_INTERVAL_S = 30
MAINTAIN_EVERY_S = 6 * 3600  # retention and the pending word index (bot.runtime.maintenance)
WATCHDOG_INTERVAL_S = 10.0  # how often the watchdog logs a stall (probes also evaluate it)
POLL_TIMEOUT_MARGIN_S = 10.0  # a poll's own limit: its stages' limits plus this


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


class App(SenderRole, ConsoleRole, AdminNotices, WebhookRole):
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
        self._parser: ParsePool | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self.watchdog = ProgressWatchdog(settings.stall_after_s)
        # PostgreSQL replicas: one of them is the sender (docs/deployment.md); SQLite: always.
        self.leading = True
        self._replicas = False
        self._sink: AlertSink | None = None
        self.personal: self_service.PersonalRules | None = None  # rules saved from chats
        self._deferred: DeferredSink | None = None
        self.services: Services | None = None
        self.pipeline: Pipeline | None = None
        self.stories: StoryGrouper | None = None
        self.sender: OutboxSender | None = None
        self.reloader: RuleReloader | None = None
        self.feeds_reloader: FeedsReloader | None = None
        self.digests: DigestScheduler | None = None
        self.trend_alerts: TrendAlerts | None = None
        # The console's one-time login links: issued by /web, redeemed by the console.
        self.login_links = LoginLinks()
        self.catch_up: CatchUpScheduler | None = None

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
        self._replicas = storage.dialect == "postgresql"
        storage.claim_sole_process()  # SQLite: one process per file, refused clearly otherwise
        await storage.open()
        if storage.dialect == "sqlite":
            # The only process on this file: claims left on feeds are a dead predecessor's.
            await storage.release_others_claims()
        self.services = services = Services(
            settings, feeds, storage, RuleHolder(ruleset), self.clock, self.metrics
        )
        self._make_webhook_parts(storage)  # webhook mode: the inbox any replica accepts into
        try:
            await storage.sync_feeds(feeds.feeds, self.clock.now())
            poll_settings = poll_settings_from(settings, feeds)
            self._fetcher = FeedFetcher.from_poll_settings(
                poll_settings,
                user_agent=settings.user_agent,
                total_timeout_s=settings.fetch_timeout_s,
                read_timeout_s=settings.fetch_idle_timeout_s,
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
            self.personal = await self_service.start(services, self.reloader, self.notify_admins)
            self.feeds_reloader = FeedsReloader(services, on_error=self.notify_admins)
            self.leading = await storage.try_lead()
            if not self.leading:
                log.info(
                    "another replica is the sender; this one polls feeds and takes over "
                    "sending and Telegram if that one stops"
                )
            # The open window of stories, rebuilt from storage before anything is polled.
            self.stories = StoryGrouper()
            await self.stories.load(storage, self.clock.now())
            sink = await self._start_alerts(services, connect=self.leading)
            self._sink = sink
            self.sender = self._new_sender(sink)
            self.digests = DigestScheduler(services, on_queued=self._wake_sender)
            self.catch_up = CatchUpScheduler(services, on_queued=self._wake_sender)
            self.trend_alerts = self._make_trend_alerts(services, storage)
            self._parser = ParsePool(processes=1, timeout_s=settings.parse_timeout_s)
            self.pipeline = Pipeline(
                services,
                self._fetcher,
                poll_settings,
                max_in_flight=settings.max_polls_in_flight,
                per_host=settings.max_polls_per_host,
                poll_timeout_s=settings.fetch_timeout_s
                + settings.parse_timeout_s
                + settings.full_text_timeout_s
                + POLL_TIMEOUT_MARGIN_S,
                full_text_timeout_s=settings.full_text_timeout_s,
                parser=self._parser,
                on_deliveries_queued=self._wake_sender,
                on_progress=self.watchdog.progress,
                on_idle=self.watchdog.idle,
                stories=self.stories,
            )
            if self._background:
                await self._start_health(services)
                self._start_background(self.pipeline, self.sender)
                if self.leading and self._replicas:
                    await self._listen_for_deliveries()
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

    def _new_sender(self, sink: AlertSink) -> OutboxSender:
        assert self.services is not None
        return OutboxSender(
            self.services, sink, on_progress=self.watchdog.progress, on_idle=self.watchdog.idle
        )

    def _wake_sender(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    async def _start_alerts(self, services: Services, *, connect: bool = True) -> AlertSink:
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
        self._telegram = TelegramRuntime(
            services,
            admin_actions=actions,
            web_login=self,
            stories=self.stories,
            personal=self.personal,
            updates=self.updates,
        )
        deferred = self._deferred = DeferredSink()
        if not connect:
            # Not the sender: no Telegram polling here (one consumer of updates per token).
            return self._sink_override or deferred
        try:
            deferred.target = await self._telegram.start()
        except DeliveryError as e:
            # Keep polling and queueing; alerts wait in the outbox until Telegram answers.
            log.warning("%s; alerts wait in the outbox while newswatch keeps retrying", e)
            self._spawn(self._connect_telegram_later(deferred), "telegram-connect")
        return self._sink_override or deferred

    async def _connect_telegram_later(
        self, deferred: DeferredSink, first_delay_s: float = 5.0
    ) -> None:
        """Retry Telegram's start-up with backoff (5 s doubling to 5 min) until it works."""
        assert self._telegram is not None
        delay = 5.0
        await asyncio.sleep(first_delay_s)
        while True:
            try:
                deferred.target = await self._telegram.start()
            except DeliveryError as e:
                log.warning("%s; retrying in %.0f s", e, min(delay * 2, 300.0))
                await asyncio.sleep(delay)
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
                "the scheduler is not running",
            ),
        )
        # Progress, not "the scheduler object exists": fails /healthz and /readyz alike.
        health.add_check("progress", self.watchdog.check(), liveness=True)
        if self._telegram is not None:
            health.add_check("telegram", self._telegram_ready_check())
        if self._console_enabled():
            key = await self._share_console_key(services)
            health.mount(lambda app: mount_console(app, self._console_deps(services, key)))
        self._mount_webhook(health)
        await health.start()
        self._health = health
        self._loop_lag = LoopLagMonitor(self.metrics)
        self._loop_lag.start()

    def _start_background(self, pipeline: Pipeline, sender: OutboxSender) -> None:
        """The long-running parts: outbox sender, file watchers, scheduled jobs."""
        assert self.reloader is not None
        assert self.feeds_reloader is not None
        if self.leading:
            self._outbox_task = self._spawn(sender.run, "outbox")
        if self._replicas:
            self._spawn(self._keep_leadership, "leadership")
            if self.personal is not None:  # rules saved through another replica's Telegram
                self._spawn(partial(self_service.follow, self.personal), "personal-rules")
        self._spawn(self.reloader.run, "rules-watch")
        self._spawn(self.feeds_reloader.run, "feeds-watch")
        self.watchdog.watch("polling")
        self.watchdog.watch("sending")
        self._poll_task = self._spawn(partial(pipeline.run, self.settings.tick_s), "poll")
        self._spawn(self._run_watchdog, "watchdog")
        scheduler = AsyncIOScheduler(timezone="UTC")

        def every(seconds: float, job: Callable[[], Awaitable[object]], job_id: str) -> None:
            # Only the sender replica runs these; one instance at a time, missed runs merged.
            scheduler.add_job(
                quiet_on_cancel(self._if_leading(job)),
                "interval",
                seconds=seconds,
                max_instances=1,
                coalesce=True,
                id=job_id,
            )

        assert self.digests is not None
        assert self.catch_up is not None
        every(MAINTAIN_EVERY_S, self._maintain, "prune")
        every(DIGEST_CHECK_INTERVAL_S, self.digests.run_once, "digests")
        if self.trend_alerts is not None:
            every(TREND_CHECK_INTERVAL_S, self.trend_alerts.run_once, "trend-alerts")
        every(CATCH_UP_EVERY_S, self.catch_up.run_once, "catch-up")
        every(HEALTH_REPORT_INTERVAL_S, self._report_feed_health, "feed-health")
        scheduler.start()
        self._scheduler = scheduler

    async def _run_watchdog(self) -> None:
        """Log a stall (and the recovery) even when nobody probes the health endpoint."""
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            self.watchdog.evaluate()

    async def _subscribe_console_to_all(self) -> None:
        assert self.services is not None
        storage = self.services.storage
        await storage.upsert_chat(Chat(id=CONSOLE_CHAT_ID, type=ChatType.CONSOLE, title="console"))
        for rule in self_service.file_rules(self.services.rules.current):  # not /watch rules
            await storage.subscribe(CONSOLE_CHAT_ID, rule.id)

    def _spawn(
        self, work: Awaitable[None] | Callable[[], Awaitable[None]], name: str
    ) -> asyncio.Task[None]:
        """Run ``work`` in the background. Given a coroutine, a crash is logged and counted and
        the work is over; given a function that starts the work (a long-running loop), a crash
        is logged and counted and the loop starts again after a growing pause
        (``bot.runtime.supervision``)."""

        def crashed(what: str, pause_s: float | None) -> None:
            self.metrics.errors.labels(kind="internal").inc()
            again = f", starting it again in {pause_s:.0f} s" if pause_s is not None else ""
            log.exception("background task %s crashed%s", what, again)

        async def guarded() -> None:
            if callable(work):
                await supervised(work, name, on_crash=crashed)
                return
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                crashed(name, None)

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.append(task)
        return task

    # --------------------------------------------------------------------------- callbacks
    async def _maintain(self) -> None:
        assert self.services is not None
        await maintain(self.services)

    # -------------------------------------------------------------------------------- stop
    async def stop(self) -> None:
        """Stop in reverse order of start. Safe to call twice, or after a failed start."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self.pipeline is not None:
            # Let polls in flight store what they fetched (re-storing is harmless anyway).
            self.pipeline.request_stop()
            await self.pipeline.wait_idle(SHUTDOWN_GRACE_S)
            await self.pipeline.cancel_all()
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
        if self._parser is not None:
            await asyncio.to_thread(self._parser.close)
            self._parser = None
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
