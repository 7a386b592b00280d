"""The pipeline's grouping: placements for a poll, the window rebuilt from storage at start,
re-polled articles forgotten, splits followed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.runtime.story_grouping import StoryGrouper, article_text
from core.models import Article, RuleMatch
from rules import compile_ruleset
from storage import SqlStorage
from tests.support.storage_helpers import match
from tests.support.story_helpers import seed_article

RULES = compile_ruleset(
    {
        "r.yaml": "rules:\n"
        "  - id: csp\n    name: CSP\n    query: partnership\n"
        "  - id: all\n    name: All\n    query: minister\n    stories: separate\n"
    }
)


def poll(*articles: Article) -> list[tuple[Article, list[RuleMatch]]]:
    return [(a, [match("csp"), match("all")]) for a in articles]


async def test_two_reports_of_one_event_are_one_story_the_others_apart(store: SqlStorage) -> None:
    grouper = StoryGrouper()
    items = poll(*(seed_article(n) for n in ("000", "001", "002", "004")))
    now = items[-1][0].published_at
    assert now is not None
    grouped = await grouper.group(items, RULES, now)
    placements = [p for p in grouped.placements if p is not None]
    assert placements[0].key == placements[1].key == "guid:" + items[0][0].identity[5:]
    assert len({p.key for p in placements}) == 3
    assert placements[0].separate_rules == frozenset({"all"})
    why = json.loads(placements[1].why)
    assert why["joined"] is True
    assert "bui thanh son" in why["signals"]["names"] or why["signals"].get("near_dup")
    results = await store.ingest_many(items, now, stories=grouped.placements)
    grouper.settle(items, grouped, results)
    # A new process rebuilds the same window from storage and places a late report with it.
    fresh = StoryGrouper()
    assert await fresh.load(store, now) == 4
    again = await fresh.group(poll(seed_article("001", "Tuoi Tre")), RULES, now)
    late = again.placements[0]
    assert late is not None
    assert late.key == placements[0].key


async def test_a_repolled_article_outside_the_window_is_forgotten(store: SqlStorage) -> None:
    old = seed_article("003")
    assert old.published_at is not None
    await store.ingest_many(poll(old), old.published_at)  # stored before stories existed
    grouper = StoryGrouper()
    later = old.published_at + timedelta(days=10)
    items = poll(old)
    grouped = await grouper.group(items, RULES, later)
    assert grouper.index.story_of(old.identity) == old.identity
    results = await store.ingest_many(items, later, stories=grouped.placements)
    grouper.settle(items, grouped, results)
    assert grouper.index.story_of(old.identity) is None
    assert grouper.index.open_stories == 0


async def test_a_split_article_founds_its_own_story_in_the_window(store: SqlStorage) -> None:
    grouper = StoryGrouper()
    items = poll(seed_article("000"), seed_article("001"))
    now = items[-1][0].published_at
    assert now is not None
    grouped = await grouper.group(items, RULES, now)
    results = await store.ingest_many(items, now, stories=grouped.placements)
    view = await store.split_article(results[1].article_id, now)
    grouper.split(view)
    assert grouper.index.story_of(items[1][0].identity) == view.key
    assert grouper.index.story_of(items[0][0].identity) == items[0][0].identity


def test_the_engine_reads_the_longer_of_summary_and_content() -> None:
    article = seed_article("000")
    assert article_text(article) == article.summary


async def test_a_split_made_elsewhere_is_followed_at_the_next_cycle(store: SqlStorage) -> None:
    grouper = StoryGrouper()
    items = poll(seed_article("000"), seed_article("001"))
    now = items[-1][0].published_at
    assert now is not None
    await grouper.load(store, now)
    grouped = await grouper.group(items, RULES, now)
    results = await store.ingest_many(items, now, stories=grouped.placements)
    # ``newswatch stories split`` in another process: storage only.
    view = await store.split_article(results[1].article_id, now + timedelta(minutes=1))
    assert grouper.index.story_of(items[1][0].identity) != view.key
    assert await grouper.follow_splits(store, now + timedelta(minutes=2)) == 1
    assert grouper.index.story_of(items[1][0].identity) == view.key
    assert await grouper.follow_splits(store, now + timedelta(minutes=3)) == 0  # once
