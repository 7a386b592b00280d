"""The outbox: due deliveries, marking, the resend-after-crash policy (``storage/sql/outbox.py``).
Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import pytest

from core.errors import StorageError
from core.models import Chat, ChatType, DeliveryKind, DeliveryMode, RenderedMessage
from storage import SqlStorage
from tests.support.storage_helpers import article_of, at, make_article, match, subscribed


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
    assert [article_of(d).identity for d in due] == ["guid:item-0", "guid:item-1", "guid:item-2"]


# digests and notices: rows that carry their pages -------------------------------------------
DAYS_100 = 60 * 24 * 100  # minutes, for ``at``
PAGES = (
    RenderedMessage("<b>Digest</b> 1/2", "Digest 1/2", True),
    RenderedMessage("<b>Digest</b> 2/2 — ✓ “quoted”", "Digest 2/2 — ✓ “quoted”", True),
)


async def test_queue_digest_stores_pages_and_marks_the_period_in_one_go(
    store: SqlStorage,
) -> None:
    await subscribed(store, 1, "csp")
    assert await store.set_subscription_mode(1, "csp", DeliveryMode.DIGEST, "hourly", now=at(0))
    delivery_id = await store.queue_digest(1, 7, ["csp"], at(60), PAGES, at(61))
    [row] = await store.due_deliveries(at(61))
    assert row.id == delivery_id
    assert row.kind is DeliveryKind.DIGEST
    assert row.article is None
    assert row.pages == PAGES
    assert row.thread_id == 7
    [sub] = await store.subscription_details(1)
    assert sub.digest_sent_at == at(60)
    assert await store.pending_count(1) == 1
    await store.mark_sending(row.id, at(61))
    await store.mark_sent(row.id, 99, at(62))
    assert await store.pending_count(1) == 0


async def test_queue_notice_reaches_unknown_admins_and_waits_for_blocked_ones(
    store: SqlStorage,
) -> None:
    await store.upsert_chat(Chat(id=5, type=ChatType.PRIVATE, active=False))  # blocked us
    page = RenderedMessage("Rules rejected", "Rules rejected", False)
    assert await store.queue_notice([9, 5, 9], [page], at(0)) == 2
    [due] = await store.due_deliveries(at(0))
    assert (due.chat_id, due.kind, due.pages) == (9, DeliveryKind.NOTICE, (page,))
    new_admin = await store.get_chat(9)
    assert new_admin is not None
    assert new_admin.active
    blocked = await store.get_chat(5)
    assert blocked is not None
    assert not blocked.active  # queueing a notice does not unblock anybody
    await store.set_chat_active(5, True)
    assert {d.chat_id for d in await store.due_deliveries(at(0))} == {5, 9}


async def test_page_rows_move_with_a_migrated_chat_and_are_pruned_when_old(
    store: SqlStorage,
) -> None:
    await store.upsert_chat(Chat(id=-10, type=ChatType.GROUP))
    await store.queue_notice([-10], [PAGES[0]], at(0))
    await store.migrate_chat(-10, -1000010)
    [moved] = await store.due_deliveries(at(0))
    assert moved.chat_id == -1000010
    await store.mark_sending(moved.id, at(0))
    await store.mark_sent(moved.id, 1, at(0))
    queued_later = await store.queue_digest(-1000010, None, [], at(0), PAGES, at(DAYS_100))
    await store.prune(at(DAYS_100), retention_days=90)
    [left] = await store.due_deliveries(at(DAYS_100))
    assert left.id == queued_later  # the old, sent notice is gone; the pending digest stays


async def test_per_lane_caps_each_chat_so_a_backlog_leaves_room_for_others(
    store: SqlStorage,
) -> None:
    """A group with a long backlog queued first and a private chat queued after it: a batch
    with ``per_lane`` holds the oldest few of each, not only the group's."""
    await subscribed(store, -100, "csp")
    for i in range(1, 31):
        await store.ingest(make_article(i), [match("csp")], at(0))
    await subscribed(store, 5, "csp")
    await store.ingest(make_article(100), [match("csp")], at(1))
    plain = await store.due_deliveries(at(2), limit=10)
    assert {d.chat_id for d in plain} == {-100}
    fair = await store.due_deliveries(at(2), limit=10, per_lane=3)
    assert [d.chat_id for d in fair] == [-100, -100, -100, 5]
    assert [article_of(d).identity for d in fair] == [
        "guid:item-1",
        "guid:item-2",
        "guid:item-3",
        "guid:item-100",
    ]


async def test_every_state_change_checks_the_state_it_expects(database_url: str) -> None:
    """Two senders (two processes' storages) on one database: the slow one, whose row was
    taken over and sent by the other, can neither send it again nor move it back."""
    slow, quick = SqlStorage(database_url), SqlStorage(database_url)
    await slow.open()
    await quick.open()
    try:
        await subscribed(slow, 1, "csp")
        await slow.ingest(make_article(1), [match("csp")], at(0))
        (delivery,) = await slow.due_deliveries(at(0))
        assert await slow.mark_sending(delivery.id, at(0))
        # the other process sees a "sending" row of another owner (the resend policy) ...
        (taken,) = await quick.due_deliveries(at(1))
        assert await quick.mark_sending(taken.id, at(1))
        assert await quick.mark_sent(taken.id, 99, at(1))
        # ... and the slow one's late outcomes change nothing
        assert not await slow.mark_retry(delivery.id, "timed out", at(5), at(2))
        assert not await slow.mark_failed(delivery.id, "400", at(2))
        assert not await slow.mark_sent(delivery.id, 7, at(2))
        assert not await slow.mark_sending(delivery.id, at(2))  # sent is final
        assert await slow.due_deliveries(at(100)) == []
        assert await slow.pending_count() == 0
        with pytest.raises(StorageError):
            await slow.mark_sent(123456, 1, at(3))
    finally:
        await slow.close()
        await quick.close()
