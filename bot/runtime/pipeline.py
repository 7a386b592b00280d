"""One polling cycle: due feeds -> fetch -> parse -> identify -> match -> store.

The phases live elsewhere (watchers fetch/parse/identify, rules match, storage stores and queues
deliveries); this module only runs them in order for every due feed. It does not send anything:
the outbox sender does, so a crash between the two loses nothing.

Order matters for "nothing missed, nothing repeated" across crashes: every article of a poll is
ingested (idempotent by identity) *before* the feed's new validators and schedule are saved. A
crash in between re-polls with the old validators and re-ingests; articles already stored come
back UNCHANGED and raise no second alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.runtime.story_grouping import StoryGrouper
from bot.services import Services
from core.models import FeedState
from storage.base import IngestStatus
from watchers.feed_health import record_new_items
from watchers.fetch import FeedFetcher
from watchers.fulltext import FullTextExtractor
from watchers.poller import PollSettings, poll_feed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle did, for logs, metrics and tests."""

    feeds_polled: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    updated_articles: int = 0
    new_deliveries: int = 0


class Pipeline:
    """Polls the feeds that are due and stores what they bring. Owns no connections."""

    def __init__(
        self,
        services: Services,
        fetcher: FeedFetcher,
        poll_settings: PollSettings,
        *,
        concurrency: int = 50,
        on_deliveries_queued: Callable[[], None] | None = None,
        stories: StoryGrouper | None = None,
    ) -> None:
        self._services = services
        self._fetcher = fetcher
        self._poll_settings = poll_settings
        self._limit = asyncio.Semaphore(concurrency)
        self._on_deliveries_queued = on_deliveries_queued
        # Story grouping (docs/stories.md); None: articles are stored without stories.
        self._stories = stories
        # Only feeds configured with ``full_text: true`` use it (the poller checks).
        self._full_text = FullTextExtractor(fetcher)
        self._running = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) for a running cycle to finish; True if idle."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout=timeout_s)
        return self._idle.is_set()

    async def run_cycle(self, max_feeds: int = 1000) -> CycleReport:
        """Poll every feed whose next check time has come. Overlapping calls are skipped."""
        if self._running:
            return CycleReport()
        self._running = True
        self._idle.clear()
        try:
            now = self._services.clock.now()
            if self._stories is not None:  # splits made by the command line meanwhile
                await self._stories.follow_splits(self._services.storage, now)
            due = await self._services.storage.due_feeds(now, limit=max_feeds)
            reports = await asyncio.gather(*(self._poll_guarded(state) for state in due))
        finally:
            self._running = False
            self._idle.set()
        total = CycleReport(
            feeds_polled=len(reports),
            feeds_failed=sum(r.feeds_failed for r in reports),
            new_articles=sum(r.new_articles for r in reports),
            updated_articles=sum(r.updated_articles for r in reports),
            new_deliveries=sum(r.new_deliveries for r in reports),
        )
        if total.new_deliveries and self._on_deliveries_queued is not None:
            self._on_deliveries_queued()
        return total

    async def _poll_guarded(self, state: FeedState) -> CycleReport:
        async with self._limit:
            try:
                return await self.poll_one(state)
            except Exception:
                # One feed's bug must not stop the cycle; the feed is retried at its next check.
                log.exception("poll failed unexpectedly", extra={"feed": state.url})
                return CycleReport(feeds_polled=1, feeds_failed=1)

    async def poll_one(self, state: FeedState) -> CycleReport:
        """Poll one feed, ingest its items, then save its new state (in that order)."""
        services = self._services
        outcome = await poll_feed(
            state,
            self._fetcher,
            services.clock.now(),
            self._poll_settings,
            full_text=self._full_text,
        )
        metrics = services.metrics
        metrics.polls.labels(feed=state.url).inc()
        ruleset = services.rules.current
        new = updated = deliveries = 0
        if outcome.articles:
            metrics.items_seen.labels(feed=state.url).inc(len(outcome.articles))
            items = [(a, ruleset.match(a, feed_tags=state.tags)) for a in outcome.articles]
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
        if outcome.error is not None:
            metrics.errors.labels(kind="fetch").inc()
            log.warning("feed poll failed: %s", outcome.error, extra={"feed": state.url})
        await services.storage.save_feed_state(
            record_new_items(outcome.state, new, services.clock.now())
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
