"""Decide, then explain (issue #14): the pipeline stores hits only for the rules some chat
subscribes to; alerts, the web stories page and exports of the others' matches locate their
hits on demand, the same hits as matching gives. Real SQLite, a real local feed server, the
real fetcher, pipeline and outbox sender."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli.demo import SeedArticle, rss_xml
from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.delivery.outbox import OutboxSender
from bot.delivery.sink import SendOutcome, SendStatus
from bot.runtime.pipeline import Pipeline
from bot.services import RuleHolder, Services
from bot.web.stories import _with_hits
from core.clock import FakeClock
from core.models import Article, Delivery, FeedConfig, Hit, RenderedMessage, RuleInfo, RuleMatch
from rules import RuleSet, compile_ruleset
from storage.console import ConsoleStory
from storage.sql import SqlStorage
from tests.fakes.feed_server import FeedServer
from tests.support.storage_helpers import T0, make_article, subscribed
from watchers.fetch import FeedFetcher
from watchers.schedule import PollSettings

CHAT = 77
RULES = """
rules:
  - id: partner
    name: Partnership
    query: '"strategic partnership" OR ties'
  - id: sea
    name: East Sea
    query: 'east NEAR/2 sea'
"""


@dataclass
class Sink:
    """Records what it is asked to deliver; every send succeeds."""

    delivered: list[Delivery] = field(default_factory=list)

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        self.delivered.append(delivery)
        return SendOutcome(SendStatus.SENT, len(self.delivered))

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        raise AssertionError("no digest expected")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    yield storage
    await storage.close()


def _services(store: SqlStorage, rules: RuleSet, clock: FakeClock) -> Services:
    return Services(Settings(), FeedsConfig(300, ()), store, RuleHolder(rules), clock)


def _hits(rules: RuleSet, article: Article) -> dict[str, tuple[Hit, ...]]:
    """What matching with every hit located gives, per rule."""
    return {m.rule_id: m.hits for m in rules.match(article)}


async def test_only_subscribed_rules_get_stored_hits_and_the_alert_has_them(
    store: SqlStorage, feed_server: FeedServer
) -> None:
    rules = compile_ruleset({"r.yaml": RULES})
    items = [SeedArticle("old", "An older story", "Rain in Hanoi.", T0)]
    base = feed_server.url("")

    async def feed(_request: web.Request) -> web.Response:
        body = rss_xml(items, base, "Seed News")
        return web.Response(body=body, content_type="application/rss+xml")

    feed_url = feed_server.route("/feed.xml", feed)
    clock = FakeClock(T0)
    services = _services(store, rules, clock)
    await subscribed(store, CHAT, "partner")  # nobody subscribes to "sea"
    await store.sync_feeds([FeedConfig(feed_url, interval_s=60)], clock.now())
    async with FeedFetcher(allow_private=True) as fetcher:
        settings = PollSettings(default_interval_s=60, jitter_fraction=0.0, allow_private=True)
        pipeline = Pipeline(services, fetcher, settings)
        await pipeline.run_cycle()  # the first poll records what is there, without alerts
        body = "Ties grow: a comprehensive strategic partnership.\nPatrols in the East Sea."
        items.append(SeedArticle("new", "Vietnam and Japan upgrade ties", body, T0))
        clock.advance(3600)
        report = await pipeline.run_cycle()
    assert report.new_articles == 1
    assert report.new_deliveries == 1

    stored = {m.rule_id: m for m in await store.recent_matches(limit=10)}
    assert set(stored) == {"partner", "sea"}
    assert stored["sea"].hits == ()  # no subscriber: decided, not explained
    (article_id,) = {m.article_id for m in stored.values()}
    assert article_id is not None
    sender = OutboxSender(services, sink := Sink())
    assert await sender.drain_once() == 1
    (alert,) = sink.delivered
    assert alert.article is not None
    expected = _hits(rules, alert.article)
    assert expected["partner"]
    assert expected["sea"]
    assert stored["partner"].hits == expected["partner"]  # stored as matching gives them
    assert [(m.rule_id, m.hits) for m in alert.matches] == [("partner", expected["partner"])]


async def test_an_alert_of_a_match_stored_without_hits_gets_them_on_demand(
    store: SqlStorage,
) -> None:
    """A subscription made between deciding and storing (or any match stored without hits)
    still sends an alert with its words in bold: the sender locates them."""
    rules = compile_ruleset({"r.yaml": RULES})
    clock = FakeClock(T0)
    await subscribed(store, CHAT, "partner", "sea")
    article = make_article(1)
    await store.ingest(article, [RuleMatch("partner"), RuleMatch("sea")], clock.now())
    sink = Sink()
    assert await OutboxSender(_services(store, rules, clock), sink).drain_once() == 1
    (alert,) = sink.delivered
    expected = _hits(rules, article)
    assert [(m.rule_id, m.hits) for m in alert.matches] == [
        ("partner", expected["partner"]),
        ("sea", expected["sea"]),
    ]
    assert all(expected.values())


async def test_exports_and_the_stories_page_locate_missing_hits(store: SqlStorage) -> None:
    rules = compile_ruleset({"r.yaml": RULES})
    article = make_article(1)
    expected = _hits(rules, article)
    await store.ingest(article, [RuleMatch("partner"), RuleMatch("sea")], T0, alert=False)

    out = io.StringIO()
    assert await store.export_matches(out, "jsonl", explain=rules.hits_for) == 2
    exported = {r["rule_id"]: r["hits"] for r in map(json.loads, out.getvalue().splitlines())}
    for rule_id in ("partner", "sea"):
        assert exported[rule_id] == [
            {"term": h.term, "field": h.field, "start": h.start, "end": h.end}
            for h in expected[rule_id]
        ]
    plain = io.StringIO()
    await store.export_matches(plain, "jsonl")  # without the rules: as stored
    assert all(json.loads(line)["hits"] == [] for line in plain.getvalue().splitlines())

    stored = await store.recent_matches(limit=10)
    story = ConsoleStory(
        key=1,
        article_id=1,
        title=article.title,
        link=article.link,
        feed_url=article.feed_url,
        feed_name=None,
        published_at=None,
        matched_at=datetime(2025, 7, 11, tzinfo=UTC),
        summary=article.summary,
        matches=tuple(sorted(stored, key=lambda m: m.rule_id)),
    )
    (shown,) = _with_hits([story], rules)
    # title and summary (what the page marks): the same hits as matching the whole article
    assert {m.rule_id: m.hits for m in shown.matches} == expected
