"""Pruning old articles and matches (``storage/sql/retention.py``). Each test runs on SQLite and on
PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

from datetime import timedelta

from storage import SqlStorage
from storage.base import IngestStatus
from tests.support.storage_helpers import article_of, at, make_article, match, subscribed


# retention ------------------------------------------------------------------------------
async def test_prune_removes_old_articles_in_batches_and_keeps_matches(store: SqlStorage) -> None:
    await subscribed(store, 1, "a")
    for n in range(7):
        await store.ingest(make_article(n), [match("a")], at(0))
    await store.ingest(make_article(100), [match("a")], at(0) + timedelta(days=95))
    for delivery in await store.due_deliveries(at(0), limit=100):
        if article_of(delivery).identity != "guid:item-6":  # item 6 stays unsent
            await store.mark_sending(delivery.id, at(0))
            await store.mark_sent(delivery.id, 1, at(0))
    now = at(0) + timedelta(days=100)
    assert await store.prune(now, retention_days=90, batch=2) == 6
    left = sorted([a.identity async for a, _ in store.iter_articles()])
    assert left == ["guid:item-100", "guid:item-6"]
    matches = await store.recent_matches(limit=100)
    assert len(matches) == 8  # matches are kept, detached from pruned articles
    assert sum(m.article_id is None for m in matches) == 6
    # A pruned item that reappears in its feed does not alert again.
    again = await store.ingest(make_article(3), [match("a")], now)
    assert (again.status, again.new_matches, again.new_deliveries) == (IngestStatus.NEW, 0, 0)
    assert await store.prune_matches(now, retention_days=90) == 7
