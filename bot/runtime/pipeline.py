"""Polling: every due feed on its own clock -> fetch -> parse -> identify -> match -> store.

The phases live elsewhere (watchers fetch/parse/identify, rules match, storage stores and queues
deliveries); this module starts a poll for each feed when it is due and runs the phases in
order. It does not send anything: the outbox sender does, so a crash between the two loses
nothing.

Each feed's poll is a task of its own, started when the feed is due whatever other feeds are
doing; what bounds them is the number of polls in flight and per host (a due feed over either
bound starts as soon as a poll ends). Every poll has a time limit as a whole (on top of the
fetch, parse and full-text limits of its stages): a poll past it records an error on its feed,
which backs off, and nothing else waits for it.

Matching decides which rules fire (``RuleSet.decide``) and locates hits only for the rules some
chat subscribes to: when many rules fire, locating every fired rule's hits cost most of the
matching. The others' matches are stored without hits, computed where they are shown.

Order matters for "nothing missed, nothing repeated" across crashes: every article of a poll is
ingested (idempotent by identity) *before* the feed's new validators and schedule are saved. A
crash in between re-polls with the old validators and re-ingests; articles already stored come
back UNCHANGED and raise no second alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.runtime.story_grouping import StoryGrouper
from bot.services import Services
from core.models import Article, FeedState, RuleMatch
from core.text import first_poll_text
from rules import RuleSet
from storage.base import IngestStatus
from watchers.feed_health import record_new_items
from watchers.fetch import FeedFetcher
from watchers.fulltext import FullTextExtractor
from watchers.parsepool import ParsePool
from watchers.poller import PollSettings, counted_from_end, failed_state, poll_feed

log = logging.getLogger(__name__)

POLLING = "polling"  # the watchdog's name for this activity
LEASE_MARGIN_S = 30.0
DISPATCH_BATCH_S = 0.02
LEASE_WITHOUT_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle (or one poll) did, for logs, metrics and tests."""

    feeds_polled: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    updated_articles: int = 0
    new_deliveries: int = 0


def _host(state: FeedState) -> str:
    return (urlsplit(state.redirected_to or state.url).hostname or "").lower()


class Pipeline:
    """Starts a poll for each due feed and stores what it brings. Owns no connections.

    ``max_in_flight`` and ``per_host`` bound the polls running at once; ``poll_timeout_s``
    (None: none) bounds one poll. ``on_progress(name)`` / ``on_idle(name)`` tell the watchdog
    that a poll finished or that nothing was due. ``run()`` is the background loop;
    ``run_cycle()`` polls what is due now and waits for it (the demo and tests).
    """

    def __init__(
        self,
        services: Services,
        fetcher: FeedFetcher,
        poll_settings: PollSettings,
        *,
        max_in_flight: int = 32,
        per_host: int = 4,
        poll_timeout_s: float | None = None,
        full_text_timeout_s: float | None = None,
        parser: ParsePool | None = None,
        on_deliveries_queued: Callable[[], None] | None = None,
        stories: StoryGrouper | None = None,
        on_progress: Callable[[str], None] | None = None,
        on_idle: Callable[[str], None] | None = None,
    ) -> None:
        self._services = services
        self._fetcher = fetcher
        self._poll_settings = poll_settings
        self._max_in_flight = max_in_flight
        self._per_host = per_host
        self._poll_timeout_s = poll_timeout_s
        # A claim outlives the longest poll; a dead process's feeds return after it.
        self._lease_s = (poll_timeout_s or LEASE_WITHOUT_TIMEOUT_S) + LEASE_MARGIN_S
        self._parser = parser
        self._on_deliveries_queued = on_deliveries_queued
        # Story grouping (docs/stories.md); None: articles are stored without stories.
        self._stories = stories
        self._on_progress = on_progress
        self._on_idle = on_idle
        # Groups, stores and settles one poll at a time: the open window of stories must see
        # every earlier poll's articles, or two polls of one event would each found a story.
        self._story_lock = asyncio.Lock()
        # Only feeds configured with ``full_text: true`` use it (the poller checks).
        self._full_text = FullTextExtractor(fetcher, timeout_s=full_text_timeout_s)
        self._in_flight: dict[str, asyncio.Task[CycleReport]] = {}
        self._waiting: list[FeedState] = []  # claimed, waiting for a slot of their host
        self._hosts: Counter[str] = Counter()
        self._poll_ended = asyncio.Event()
        self._stopping = False

    @property
    def in_flight(self) -> int:
        """Polls running now."""
        return len(self._in_flight)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) for the polls in flight to finish; True if none is
        left. Starts no new poll once ``request_stop`` was called."""
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        return not self._in_flight

    def request_stop(self) -> None:
        """Start no new poll; ``run()`` returns."""
        self._stopping = True
        self._poll_ended.set()

    async def cancel_all(self) -> None:
        """Cancel the polls still in flight (after the shutdown grace) and wait for them."""
        urls = list(self._in_flight) + [s.url for s in self._waiting]
        self._waiting.clear()
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Another replica (or the next start) may poll them at once, not after the lease.
        with contextlib.suppress(Exception):
            await self._services.storage.release_feeds(urls)

    async def run(self, tick_s: float) -> None:
        """Until ``request_stop``: start every due feed's poll, then look again after
        ``tick_s`` seconds, or as soon as a poll ends while due feeds were held back."""
        while not self._stopping:
            await self._follow_splits()
            held_back = await self.dispatch_due()
            self._poll_ended.clear()
            if held_back:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poll_ended.wait(), timeout=tick_s)
                # Let a few more polls end first: one claim for several free slots, not one
                # round trip per slot.
                await asyncio.sleep(DISPATCH_BATCH_S)
            else:
                await asyncio.sleep(tick_s)

    async def dispatch_due(self, skip: set[str] | None = None) -> bool:
        """Claim due feeds (leases: each due feed is one process's) up to the free slots and
        start their polls within the per-host bound; a claimed feed whose host is busy waits
        here for a slot (at most ``per_host`` of one host; more are released for others).
        Feeds in ``skip`` are released, not polled. Returns True when due feeds are waiting."""
        storage = self._services.storage
        free = self._max_in_flight - len(self._in_flight) - len(self._waiting)
        claimed: list[FeedState] = []
        if free > 0 and not self._stopping:
            now = self._services.clock.now()
            claimed = await storage.claim_due_feeds(now, free, self._lease_s)
        give_back = [s.url for s in claimed if s.url in (skip or ()) or s.url in self._in_flight]
        self._waiting.extend(s for s in claimed if s.url not in give_back)
        if self._stopping:
            give_back += [s.url for s in self._waiting]
            self._waiting.clear()
        hosts_waiting: Counter[str] = Counter()
        still: list[FeedState] = []
        for state in self._waiting:
            host = _host(state)
            if len(self._in_flight) < self._max_in_flight and self._hosts[host] < self._per_host:
                self._start(state, host)
            elif hosts_waiting[host] < self._per_host:
                hosts_waiting[host] += 1
                still.append(state)
            else:
                give_back.append(state.url)  # one host's queue must not fill every slot
        self._waiting = still
        if give_back:
            await storage.release_feeds(give_back)
        idle = not claimed and not self._in_flight and not self._waiting
        if idle and self._on_idle is not None:
            self._on_idle(POLLING)
        # Every slot busy, or as many claimed as there were slots: more may be due; look again
        # as soon as a poll ends.
        return bool(self._waiting) or free <= 0 or len(claimed) == free

    async def _follow_splits(self) -> None:
        """Take in the story splits made meanwhile (by the command line, or another process)."""
        if self._stories is None:
            return
        try:
            await self._stories.follow_splits(self._services.storage, self._services.clock.now())
        except Exception:
            # A storage hiccup here must not stop polling; the next look catches up.
            log.exception("could not read story splits; trying again at the next look")

    def _start(self, state: FeedState, host: str) -> asyncio.Task[CycleReport]:
        self._hosts[host] += 1
        task = asyncio.create_task(self._poll_guarded(state), name=f"poll {state.url}")
        self._in_flight[state.url] = task

        def done(_task: asyncio.Task[CycleReport]) -> None:
            self._in_flight.pop(state.url, None)
            self._hosts[host] -= 1
            if self._hosts[host] <= 0:
                del self._hosts[host]
            self._poll_ended.set()

        task.add_done_callback(done)
        return task

    async def run_cycle(self, max_feeds: int = 1000) -> CycleReport:
        """Poll every feed due now (each once, at most ``max_feeds``, within the bounds) and
        wait for those polls. Feeds already in flight are left to their own poll."""
        await self._follow_splits()
        polled: set[str] = set()
        tasks: list[asyncio.Task[CycleReport]] = []
        while len(polled) < max_feeds:
            before = set(self._in_flight)
            await self.dispatch_due(skip=polled)
            started = [t for url, t in self._in_flight.items() if url not in before]
            polled.update(url for url in self._in_flight if url not in before)
            tasks.extend(started)
            running = [t for t in tasks if not t.done()]
            if not started and not running:
                break
            if running:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        reports = await asyncio.gather(*tasks)
        return CycleReport(
            feeds_polled=sum(r.feeds_polled for r in reports),
            feeds_failed=sum(r.feeds_failed for r in reports),
            new_articles=sum(r.new_articles for r in reports),
            updated_articles=sum(r.updated_articles for r in reports),
            new_deliveries=sum(r.new_deliveries for r in reports),
        )

    async def _poll_guarded(self, state: FeedState) -> CycleReport:
        try:
            async with asyncio.timeout(self._poll_timeout_s):
                report = await self.poll_one(state)
        except TimeoutError:
            report = await self._timed_out(state)
        except Exception as exc:
            # One feed's bug (or a lost database connection) must not stop the others.
            log.exception("poll failed unexpectedly", extra={"feed": state.url})
            report = CycleReport(feeds_polled=1, feeds_failed=1)
            await self._back_off(state, f"poll failed unexpectedly: {type(exc).__name__}")
        if self._on_progress is not None:
            self._on_progress(POLLING)
        if report.new_deliveries and self._on_deliveries_queued is not None:
            self._on_deliveries_queued()
        return report

    async def _timed_out(self, state: FeedState) -> CycleReport:
        """A poll past its limit: the feed records the error and backs off; nothing was stored
        for it (the articles of a poll are stored in one transaction, or not at all)."""
        error = f"poll took longer than {self._poll_timeout_s:g} s; stopped"
        self._services.metrics.errors.labels(kind="fetch").inc()
        log.warning("feed poll failed: %s", error, extra={"feed": state.url})
        await self._back_off(state, error)
        return CycleReport(feeds_polled=1, feeds_failed=1)

    async def _back_off(self, state: FeedState, error: str) -> None:
        """Record ``error`` for a poll that ended without a state of its own (it ran past its
        limit, or failed past the fetch: the feed may have been fetched) and back the feed
        off as for any failure, so it is polled again no sooner than its interval. Releasing
        the claim instead would make it due at once: after a database error while storing,
        every replica would poll the feed again within the same second. If even this save
        fails, the claim is kept and the feed returns when its lease runs out."""
        now = self._services.clock.now()
        try:
            await self._services.storage.save_feed_state(
                failed_state(state, error, now, self._poll_settings)
            )
        except Exception:
            log.warning(
                "could not record the failed poll; the feed returns when its lease runs out",
                extra={"feed": state.url},
            )

    async def _decide_and_explain(
        self, ruleset: RuleSet, articles: Sequence[Article], tags: Sequence[str]
    ) -> list[tuple[Article, list[RuleMatch]]]:
        """Each article with the rules that fire on it (``RuleSet.decide``): with their hits
        only for the rules some chat subscribes to, whose alerts (and exports) show them;
        the others' hits would cost most of the matching when many rules fire, and are
        computed on demand by whoever shows them (``RuleSet.hits_for``)."""
        decisions = [ruleset.decide(a, feed_tags=tags) for a in articles]
        wanted: frozenset[str] = frozenset()
        if any(decisions):
            wanted = frozenset(await self._services.storage.subscribed_rule_ids())
        return [(a, d.explained(wanted)) for a, d in zip(articles, decisions, strict=True)]

    async def poll_one(self, state: FeedState) -> CycleReport:
        """Poll one feed, ingest its items, then save its new state (in that order)."""
        services = self._services
        started = services.clock.now()
        outcome = await poll_feed(
            state,
            self._fetcher,
            started,
            self._poll_settings,
            full_text=self._full_text,
            parser=self._parser,
        )
        metrics = services.metrics
        metrics.polls.labels(feed=state.url).inc()
        ruleset = services.rules.current
        new = updated = deliveries = 0
        if outcome.articles:
            metrics.items_seen.labels(feed=state.url).inc(len(outcome.articles))
            items = await self._decide_and_explain(ruleset, outcome.articles, state.tags)
            story_lock = self._story_lock if self._stories is not None else contextlib.nullcontext()
            async with story_lock:
                # Stories are decided before the transaction (pure, in memory), never inside it.
                grouped = None
                if self._stories is not None:
                    grouped = await self._stories.group(items, ruleset, services.clock.now())
                # One transaction for the whole poll: fast, and all-or-nothing across a crash.
                results = await services.storage.ingest_many(
                    items,
                    services.clock.now(),
                    alert=outcome.alert,
                    stories=grouped.placements if grouped is not None else None,
                )
                if self._stories is not None and grouped is not None:
                    self._stories.settle(items, grouped, results)
            for (_article, matches), result in zip(items, results, strict=True):
                if result.status is IngestStatus.NEW:
                    new += 1
                    for match in matches:
                        metrics.matches.labels(rule=match.rule_id).inc()
                updated += result.status is IngestStatus.UPDATED
                deliveries += result.new_deliveries
        if outcome.first_poll and not outcome.alert and outcome.error is None:
            log.info(first_poll_text(new), extra={"feed": state.url})  # once per feed (#16)
        if outcome.error is not None:
            metrics.errors.labels(kind="fetch").inc()
            log.warning("feed poll failed: %s", outcome.error, extra={"feed": state.url})
        ended = services.clock.now()
        await services.storage.save_feed_state(
            record_new_items(counted_from_end(outcome.state, ended - started), new, ended)
        )
        if new or updated:
            log.info(
                "feed polled: %d new, %d updated, %d alerts queued",
                new,
                updated,
                deliveries,
                extra={"feed": state.url},
            )
        return CycleReport(
            feeds_polled=1,
            feeds_failed=int(outcome.error is not None),
            new_articles=new,
            updated_articles=updated,
            new_deliveries=deliveries,
        )
