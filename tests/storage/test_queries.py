"""Reading: recent matches, digest items, counts, export, paging
(``storage/sql/queries.py``). Each test runs on SQLite and on PostgreSQL (the ``database_url``
fixture)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, timedelta

from core.models import Article, DeliveryMode, Hit, RuleMatch
from storage import SqlStorage
from tests.support.storage_helpers import T0, at, make_article, match, subscribed


# queries --------------------------------------------------------------------------------
async def test_recent_matches_per_rule_and_per_chat(store: SqlStorage) -> None:
    await subscribed(store, 1, "a")
    for n in range(4):
        await store.ingest(make_article(n), [match("a" if n % 2 else "b")], at(n))
    recent = await store.recent_matches(limit=3)
    assert [(m.rule_id, m.matched_at) for m in recent] == [("a", at(3)), ("b", at(2)), ("a", at(1))]
    assert [m.matched_at for m in await store.recent_matches(rule_id="b")] == [at(2), at(0)]
    assert [m.rule_id for m in await store.recent_matches(chat_id=1)] == ["a", "a"]
    assert await store.recent_matches(chat_id=999) == []
    assert recent[0].hits == (Hit("partnership", "summary", 3, 14),)


async def test_match_counts_per_day(store: SqlStorage) -> None:
    await store.ingest(make_article(1), [match("a"), match("b")], T0)
    await store.ingest(make_article(2), [match("a")], T0 + timedelta(hours=13))
    await store.ingest(make_article(3), [match("a")], T0 - timedelta(days=5))
    counts = await store.match_counts_per_day(T0 - timedelta(days=1))
    assert counts == [
        ("a", date(2025, 7, 11), 1),
        ("a", date(2025, 7, 12), 1),
        ("b", date(2025, 7, 11), 1),
    ]


async def test_export_csv_and_jsonl_by_range_and_rule(store: SqlStorage) -> None:
    await store.ingest(
        make_article(1, title='Title, with "quotes"'), [match("a"), match("b")], at(0)
    )
    await store.ingest(make_article(2), [match("a")], at(10))
    out = io.StringIO()
    assert await store.export_matches(out, "csv", start=at(0), end=at(10), rule_ids=["a"]) == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["rule_id"], r["title"]) for r in rows] == [("a", 'Title, with "quotes"')]
    assert json.loads(rows[0]["hits"]) == [
        {"term": "partnership", "field": "summary", "start": 3, "end": 14}
    ]
    out = io.StringIO()
    assert await store.export_matches(out, "jsonl") == 3
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["rule_id"] for r in records] == ["a", "b", "a"]
    assert records[2]["matched_at"] == at(10).isoformat()


async def test_export_asks_for_the_hits_of_matches_stored_without(store: SqlStorage) -> None:
    """Matches stored with no hits (no subscriber when matched) are exported with the hits
    ``explain`` locates in their stored article; stored hits are exported as they are, and
    a match whose article is gone keeps none."""
    await store.ingest(make_article(1), [match("a"), RuleMatch("b")], at(0))
    await store.ingest(make_article(2), [RuleMatch("b")], at(1))
    asked: list[tuple[str, list[str]]] = []

    def explain(article: Article, rule_ids: Sequence[str]) -> dict[str, tuple[Hit, ...]]:
        asked.append((article.identity, list(rule_ids)))
        return {r: (Hit("ties", "title", 0, 4),) for r in rule_ids}

    out = io.StringIO()
    assert await store.export_matches(out, "jsonl", explain=explain) == 3
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    found = [{"term": "ties", "field": "title", "start": 0, "end": 4}]
    assert [(r["rule_id"], r["hits"]) for r in records] == [
        ("a", [{"term": "partnership", "field": "summary", "start": 3, "end": 14}]),
        ("b", found),
        ("b", found),
    ]
    assert sorted(asked) == [("guid:item-1", ["b"]), ("guid:item-2", ["b"])]


async def test_iter_articles_pages_with_rule_ids(store: SqlStorage) -> None:
    for n in range(7):
        await store.ingest(make_article(n), [match("b"), match("a")] if n % 3 == 0 else [], at(n))
    seen = [(a.identity, rules) async for a, rules in store.iter_articles(batch=3)]
    assert len(seen) == 7
    assert seen[0] == ("guid:item-0", ("a", "b"))
    assert seen[1] == ("guid:item-1", ())
    articles = [a async for a, _ in store.iter_articles()]
    assert articles[0] == make_article(0)


async def test_due_digest_items_skip_articles_already_alerted(store: SqlStorage) -> None:
    await subscribed(store, 1, "instant", "digest")
    await store.set_subscription_mode(1, "digest", DeliveryMode.DIGEST, "daily 08:00")
    await store.ingest(make_article(1), [match("digest")], at(1))
    await store.ingest(make_article(2), [match("digest"), match("instant")], at(2))
    await store.ingest(make_article(3), [match("digest")], at(3))
    items = await store.due_digest_items(1, ["digest"], since=at(1))
    assert [i.title for i in items] == ["Vietnam and Japan upgrade ties, story 3"]
    assert await store.due_digest_items(1, [], since=at(0)) == []

    until = await store.due_digest_items(1, ["digest"], since=at(0), until=at(1))
    assert [i.title for i in until] == ["Vietnam and Japan upgrade ties, story 1"]
