"""The outbox: due deliveries, marking, the resend-after-crash policy (``storage/sql/outbox.py``).
Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import pytest

from core.errors import StorageError
from storage import SqlStorage
from tests.support.storage_helpers import at, make_article, match, subscribed


# outbox ---------------------------------------------------------------------------------
async def test_outbox_lifecycle_retry_then_sent(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    assert delivery.state == "pending"
    await store.mark_sending(delivery.id, at(0))
    assert await store.due_deliveries(at(0)) == []  # in flight in this process
    await store.mark_retry(delivery.id, "429 Too Many Requests", at(10), at(0))
    assert await store.due_deliveries(at(9)) == []
    (again,) = await store.due_deliveries(at(10))
    assert again.attempts == 1
    await store.mark_sending(again.id, at(10))
    await store.mark_sent(again.id, 42, at(10))
    assert await store.due_deliveries(at(100)) == []
    assert await store.pending_count(1) == 0


async def test_failed_delivery_is_not_due_again(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    await store.mark_failed(delivery.id, "400 Bad Request", at(0))
    assert await store.due_deliveries(at(100)) == []
    assert await store.pending_count() == 0


async def test_sending_left_by_a_crashed_process_is_due_after_restart(
    store: SqlStorage, database_url: str
) -> None:
    await subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    await store.close()  # the process "crashes" here, before mark_sent
    restarted = SqlStorage(database_url)
    await restarted.open()
    try:
        (resend,) = await restarted.due_deliveries(at(1))
        assert (resend.id, resend.state, resend.attempts) == (delivery.id, "sending", 1)
    finally:
        await restarted.close()


async def test_own_sending_row_is_due_again_after_the_lease(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    assert await store.due_deliveries(at(4)) == []
    assert [d.id for d in await store.due_deliveries(at(5))] == [delivery.id]


async def test_marking_an_unknown_delivery_is_an_error(store: SqlStorage) -> None:
    with pytest.raises(StorageError, match="no delivery"):
        await store.mark_sent(12345, 1, at(0))


async def test_due_deliveries_oldest_first_and_limited(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    for n in range(5):
        await store.ingest(make_article(n), [match("csp")], at(n))
    due = await store.due_deliveries(at(10), limit=3)
    assert [d.article.identity for d in due] == ["guid:item-0", "guid:item-1", "guid:item-2"]
