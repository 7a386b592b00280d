"""One rule's mute (``bot/delivery/rule_mutes.py``): the catch-up after an unmute, and after a
mute that ran out by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.delivery.rule_mutes import catch_up_expired, mute_rule, unmute_rule
from bot.services import RuleHolder, Services
from core.clock import FakeClock
from core.models import Article, Hit, RuleMatch
from rules import RuleSet
from tests.fakes.memory_storage import MemoryStorage

START = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)


def services() -> tuple[Services, MemoryStorage, FakeClock]:
    storage = MemoryStorage()
    clock = FakeClock(START)
    return (
        Services(
            Settings(),
            FeedsConfig(default_interval_s=300.0, feeds=()),
            storage,
            RuleHolder(RuleSet.empty()),
            clock,
        ),
        storage,
        clock,
    )


async def matched(storage: MemoryStorage, n: int, rule_id: str, when: datetime) -> None:
    article = Article(
        feed_url="f", identity=f"i{n}", title=f"Story {n}", link=f"https://x.example/{n}"
    )
    await storage.ingest(article, [RuleMatch(rule_id, (Hit("story", "title", 0, 5),))], when)


async def test_a_mute_that_runs_out_sends_its_catch_up_once() -> None:
    svc, storage, clock = services()
    await storage.subscribe(1, "csp")
    assert await mute_rule(svc, 1, "csp", 3600)
    await matched(storage, 1, "csp", START + timedelta(minutes=5))
    assert await catch_up_expired(svc) == 0  # not yet
    clock.advance(3600)
    assert await catch_up_expired(svc) == 1
    [(chat, rules, pages)] = storage.digests
    assert (chat, rules) == (1, ("csp",))
    assert pages[0].plain.startswith("🔔 Catch-up: 1 match while muted")
    assert await catch_up_expired(svc) == 0  # once
    assert await unmute_rule(svc, 1, "csp") is None


async def test_nothing_matched_queues_nothing_and_a_gone_subscription_is_forgotten() -> None:
    svc, storage, clock = services()
    await storage.subscribe(1, "csp")
    await storage.subscribe(1, "eu")
    await mute_rule(svc, 1, "csp", 60)
    await mute_rule(svc, 1, "eu", 60)
    await storage.unsubscribe(1, "eu")
    clock.advance(120)
    assert await catch_up_expired(svc) == 0
    assert storage.digests == []
    assert storage.rule_mutes == {}
    assert not await mute_rule(svc, 1, "eu", 60)  # not subscribed
