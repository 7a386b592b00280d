"""When the pipeline polls a feed next (real SQLite and PostgreSQL, a real local feed server
and the real fetcher; the storage fails on purpose where a test says):

- A poll that fails after its fetch (the database drops while its articles are stored) is the
  feed's error, backed off from its interval: never released to be polled again at once, which
  would have every replica fetch the feed again within the same second (the chaos test's early
  repoll). Nothing is lost: the next poll stores the story.
- The interval counts from the end of a poll: a feed that took 30 s to answer is asked again an
  interval after its answer, not 30 s sooner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.cli.demo import SeedArticle, rss_xml
from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.runtime.pipeline import LEASE_MARGIN_S, Pipeline
from bot.services import RuleHolder, Services
from core.clock import FakeClock
from core.models import FeedConfig, FeedState
from rules import compile_ruleset
from storage.sql import SqlStorage
from tests.fakes.feed_server import FeedServer
from tests.support.storage_helpers import T0, subscribed
from watchers.fetch import FeedFetcher
from watchers.schedule import PollSettings

INTERVAL_S = 60
RULES = "rules:\n  - id: ties\n    name: Ties\n    query: ties\n"


class LostConnection(Exception):
    """What a dropped database connection raises in the middle of a poll."""


class FailingStorage(SqlStorage):
    """The real storage, whose next ``ingest_many`` (and, when asked, the ``save_feed_state``
    after it) raises as a lost connection would."""

    fail_ingest = False
    fail_save = False

    async def ingest_many(self, *args: Any, **kwargs: Any) -> Any:
        if self.fail_ingest:
            self.fail_ingest = False
            raise LostConnection("server closed the connection unexpectedly")
        return await super().ingest_many(*args, **kwargs)

    async def save_feed_state(self, state: FeedState) -> None:
        if self.fail_save:
            self.fail_save = False
            raise LostConnection("server closed the connection unexpectedly")
        await super().save_feed_state(state)


async def _setup(
    database_url: str, feed_server: FeedServer, clock: FakeClock | None = None, slow_s: float = 0
) -> tuple[FailingStorage, list[SeedArticle], list[datetime], str]:
    store = FailingStorage(database_url)
    await store.open()
    await subscribed(store, 5, "ties")
    items = [SeedArticle("old", "Rain in Hanoi", "Rain.", T0)]
    requests: list[datetime] = []
    base = feed_server.url("")

    async def feed(_request: web.Request) -> web.Response:
        requests.append(clock.now() if clock is not None else T0)
        if clock is not None:
            clock.advance(slow_s)  # the answer takes this long
        return web.Response(body=rss_xml(items, base, "News"), content_type="application/rss+xml")

    url = feed_server.route("/feed.xml", feed)
    await store.sync_feeds([FeedConfig(url, interval_s=INTERVAL_S)], T0)
    return store, items, requests, url


def _pipeline(store: SqlStorage, clock: FakeClock, fetcher: FeedFetcher) -> Pipeline:
    services = Services(
        Settings(),
        FeedsConfig(INTERVAL_S, ()),
        store,
        RuleHolder(compile_ruleset({"r.yaml": RULES})),
        clock,
    )
    settings = PollSettings(default_interval_s=INTERVAL_S, jitter_fraction=0.0, allow_private=True)
    return Pipeline(services, fetcher, settings, poll_timeout_s=10)


async def _first_poll_then_a_story(
    pipeline: Pipeline, clock: FakeClock, items: list[SeedArticle]
) -> None:
    """The first poll (what is there, without alerts); an interval later the feed has a story."""
    await pipeline.run_cycle()
    clock.advance(INTERVAL_S)
    items.append(SeedArticle("new", "Vietnam and Japan upgrade ties", "Ties grow.", T0))


async def test_a_failure_while_storing_backs_the_feed_off_and_loses_nothing(
    database_url: str, feed_server: FeedServer
) -> None:
    store, items, requests, url = await _setup(database_url, feed_server)
    clock = FakeClock(T0)
    try:
        async with FeedFetcher(allow_private=True) as fetcher:
            pipeline = _pipeline(store, clock, fetcher)
            await _first_poll_then_a_story(pipeline, clock, items)
            store.fail_ingest = True
            report = await pipeline.run_cycle()
            assert (report.feeds_failed, len(requests)) == (1, 2)
            state = await store.get_feed(url)
            assert state is not None
            assert state.last_error == "poll failed unexpectedly: LostConnection"
            assert state.consecutive_errors == 1
            assert state.next_check_at is not None
            assert (state.next_check_at - clock.now()).total_seconds() >= INTERVAL_S
            # Not due again at once: no replica (nor this one) fetches it again now.
            assert await store.claim_due_feeds(clock.now(), 10, 30) == []
            clock.advance(1)
            assert (await pipeline.run_cycle()).feeds_polled == 0
            assert len(requests) == 2
            # At its next check the story is stored and alerted: nothing lost.
            clock.advance(2 * INTERVAL_S)
            report = await pipeline.run_cycle()
            assert (report.new_articles, report.new_deliveries) == (1, 1)
            assert len(requests) == 3
    finally:
        await store.close()


async def test_when_even_the_error_cannot_be_saved_the_lease_holds_the_feed(
    database_url: str, feed_server: FeedServer
) -> None:
    store, items, requests, url = await _setup(database_url, feed_server)
    clock = FakeClock(T0)
    try:
        async with FeedFetcher(allow_private=True) as fetcher:
            pipeline = _pipeline(store, clock, fetcher)
            await _first_poll_then_a_story(pipeline, clock, items)
            store.fail_ingest = store.fail_save = True
            await pipeline.run_cycle()
            assert len(requests) == 2
            state = await store.get_feed(url)
            assert state is not None
            assert state.last_error is None  # nothing could be saved
            # The claim stands (poll limit + margin): the feed is no one's to poll yet.
            clock.advance(10 + LEASE_MARGIN_S - 1)
            assert await store.claim_due_feeds(clock.now(), 10, 30) == []
            clock.advance(2)
            report = await pipeline.run_cycle()
            assert (report.new_articles, report.new_deliveries, len(requests)) == (1, 1, 3)
    finally:
        await store.close()


async def test_the_interval_counts_from_the_end_of_a_slow_poll(
    database_url: str, feed_server: FeedServer
) -> None:
    clock = FakeClock(T0)
    store, _items, requests, url = await _setup(database_url, feed_server, clock, slow_s=30)
    try:
        async with FeedFetcher(allow_private=True) as fetcher:
            pipeline = _pipeline(store, clock, fetcher)
            await pipeline.run_cycle()
            state = await store.get_feed(url)
            assert state is not None
            assert state.next_check_at == requests[0] + timedelta(seconds=30 + INTERVAL_S)
            clock.advance(INTERVAL_S - 30)  # an interval after the request, 30 s before due
            assert (await pipeline.run_cycle()).feeds_polled == 0
            clock.advance(30)
            assert (await pipeline.run_cycle()).feeds_polled == 1
            assert requests[1] - requests[0] == timedelta(seconds=30 + INTERVAL_S)
    finally:
        await store.close()
