"""The storage suite, run against SQLite and a real PostgreSQL (``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from core.errors import StorageError
from core.models import Chat, ChatType, DeliveryKind, DeliveryMode, FeedConfig, FeedState, Hit
from storage import SqlStorage
from storage.base import IngestStatus, Storage
from tests.support.storage_helpers import T0, at, make_article, match


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStorage]:
    storage = SqlStorage(database_url)
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()


async def _subscribed(store: SqlStorage, chat_id: int, *rule_ids: str) -> None:
    await store.upsert_chat(Chat(id=chat_id, type=ChatType.PRIVATE, title=f"chat {chat_id}"))
    for rule_id in rule_ids:
        assert await store.subscribe(chat_id, rule_id)


def test_sql_storage_satisfies_the_protocol() -> None:
    storage: Storage = SqlStorage("sqlite+aiosqlite:///unused.db")
    assert storage is not None


# ingest: identity, edits, exactly-once -------------------------------------------------------
async def test_new_article_is_stored_once_with_its_matches(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    first = await store.ingest(make_article(1), [match("csp")], at(0))
    again = await store.ingest(make_article(1), [match("csp")], at(1))
    assert first.status is IngestStatus.NEW
    assert (first.new_matches, first.new_deliveries) == (1, 1)
    assert again.status is IngestStatus.UNCHANGED
    assert again.article_id == first.article_id
    assert (again.new_matches, again.new_deliveries) == (0, 0)
    assert await store.pending_count() == 1


async def test_same_identity_from_a_second_feed_is_the_same_article(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    first = await store.ingest(make_article(1), [match("csp")], at(0))
    other_feed = make_article(1, feed_url="http://127.0.0.1/other.xml")
    second = await store.ingest(other_feed, [match("csp")], at(1))
    assert second.status is IngestStatus.UNCHANGED
    assert second.article_id == first.article_id
    assert await store.pending_count(1) == 1


async def test_changed_guid_with_same_link_and_title_is_not_new(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    first = await store.ingest(make_article(1), [match("csp")], at(0))
    # Same link, same headline up to case, quotes and spacing; a new guid.
    regguided = make_article(
        1,
        identity="guid:new-guid",
        guid="new-guid",
        title="  VIETNAM and Japan upgrade ties,  story 1!",
    )
    second = await store.ingest(regguided, [match("csp")], at(1))
    assert second.article_id == first.article_id
    assert second.status is not IngestStatus.NEW
    assert (second.new_matches, second.new_deliveries) == (0, 0)
    assert await store.pending_count() == 1


async def test_same_link_with_a_different_title_is_a_different_article(store: SqlStorage) -> None:
    first = await store.ingest(make_article(1), [], at(0))
    other = make_article(1, identity="guid:x", title="A different story on the same page")
    second = await store.ingest(other, [], at(1))
    assert second.status is IngestStatus.NEW
    assert second.article_id != first.article_id


async def test_edited_article_is_updated_with_history_and_not_new(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    first = await store.ingest(make_article(1), [match("csp")], at(0))
    edited = make_article(1, title="Vietnam and Japan upgrade ties (updated)")
    second = await store.ingest(edited, [match("csp")], at(5))
    assert second.status is IngestStatus.UPDATED
    assert second.article_id == first.article_id
    assert (second.new_matches, second.new_deliveries) == (0, 0)
    articles = [a async for a, _ in store.iter_articles()]
    assert [a.title for a in articles] == ["Vietnam and Japan upgrade ties (updated)"]
    async with store.engine.connect() as conn:
        from sqlalchemy import select

        from storage.schema import article_edits

        rows = (await conn.execute(select(article_edits))).all()
    assert [(r.article_id, r.old_title) for r in rows] == [
        (first.article_id, "Vietnam and Japan upgrade ties, story 1")
    ]


async def test_three_matching_rules_give_one_delivery_naming_them(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a", "b", "c")
    await _subscribed(store, 2, "b")
    result = await store.ingest(
        make_article(1), [match("a"), match("b"), match("c"), match("d")], at(0)
    )
    assert (result.new_matches, result.new_deliveries) == (4, 2)
    due = {d.chat_id: d for d in await store.due_deliveries(at(0))}
    assert [m.rule_id for m in due[1].matches] == ["a", "b", "c"]
    assert [m.rule_id for m in due[2].matches] == ["b"]
    assert due[1].matches[0].hits == (Hit("partnership", "summary", 3, 14),)
    assert due[1].article.title == "Vietnam and Japan upgrade ties, story 1"
    assert due[1].kind is DeliveryKind.ALERT


async def test_alert_false_stores_matches_but_queues_nothing(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    result = await store.ingest(make_article(1), [match("csp")], at(0), alert=False)
    assert (result.new_matches, result.new_deliveries) == (1, 0)
    assert await store.due_deliveries(at(0)) == []
    again = await store.ingest(make_article(1), [match("csp")], at(1))
    assert again.new_deliveries == 0  # the match existed: the first poll is a baseline


async def test_only_active_instant_unmuted_subscribers_get_deliveries(store: SqlStorage) -> None:
    await _subscribed(store, 1, "r")  # instant, active
    await _subscribed(store, 2, "r")  # digest
    await _subscribed(store, 3, "r")  # blocked
    await _subscribed(store, 4, "r")  # muted until later
    await _subscribed(store, 5, "r")  # muted until a time already past
    assert await store.set_subscription_mode(2, "r", DeliveryMode.DIGEST, "daily 08:00")
    await store.set_chat_active(3, False)
    await store.mute_chat(4, at(60))
    await store.mute_chat(5, at(-1))
    result = await store.ingest(make_article(1), [match("r")], at(0))
    assert result.new_deliveries == 2
    assert sorted(d.chat_id for d in await store.due_deliveries(at(0))) == [1, 5]


async def test_new_rule_match_on_known_article_queues_for_new_chats_only(
    store: SqlStorage,
) -> None:
    await _subscribed(store, 1, "a")
    await _subscribed(store, 2, "b")
    await store.ingest(make_article(1), [match("a")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    await store.mark_sent(delivery.id, 100, at(0))
    # After a rule reload, rule b matches too: chat 2 gets its alert, chat 1 nothing more.
    result = await store.ingest(make_article(1), [match("a"), match("b")], at(1))
    assert (result.new_matches, result.new_deliveries) == (1, 1)
    assert [d.chat_id for d in await store.due_deliveries(at(1))] == [2]


async def test_pending_alert_is_extended_with_a_newly_matching_rule(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a", "b")
    await store.ingest(make_article(1), [match("a")], at(0))
    await store.ingest(make_article(1), [match("a"), match("b")], at(1))
    (delivery,) = await store.due_deliveries(at(1))
    assert [m.rule_id for m in delivery.matches] == ["a", "b"]


async def test_edit_after_sent_alert_queues_an_edit_of_that_message(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    await store.mark_sent(delivery.id, 555, at(0))
    assert await store.due_deliveries(at(1)) == []
    await store.ingest(make_article(1, summary="Corrected summary."), [match("csp")], at(2))
    (edit,) = await store.due_deliveries(at(2))
    assert edit.id == delivery.id
    assert edit.kind is DeliveryKind.EDIT
    assert edit.message_id == 555
    assert edit.article.summary == "Corrected summary."
    await store.mark_sending(edit.id, at(2))
    await store.mark_sent(edit.id, None, at(2))
    assert await store.due_deliveries(at(3)) == []
    assert await store.pending_count() == 0


async def test_ingest_is_one_transaction(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    bad = make_article(1, published_at=T0.replace(tzinfo=None))  # refused: naive time
    with pytest.raises(StorageError):
        await store.ingest(bad, [match("csp")], at(0))
    assert [a async for a in store.iter_articles()] == []
    assert await store.recent_matches() == []
    assert await store.pending_count() == 0


async def test_concurrent_ingest_of_one_article_creates_it_once(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    results = await asyncio.gather(
        *(store.ingest(make_article(1), [match("csp")], at(0)) for _ in range(8))
    )
    assert [r.status for r in results].count(IngestStatus.NEW) == 1
    assert len({r.article_id for r in results}) == 1
    assert sum(r.new_deliveries for r in results) == 1


# outbox ---------------------------------------------------------------------------------
async def test_outbox_lifecycle_retry_then_sent(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
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
    await _subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    await store.mark_failed(delivery.id, "400 Bad Request", at(0))
    assert await store.due_deliveries(at(100)) == []
    assert await store.pending_count() == 0


async def test_sending_left_by_a_crashed_process_is_due_after_restart(
    store: SqlStorage, database_url: str
) -> None:
    await _subscribed(store, 1, "csp")
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
    await _subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    assert await store.due_deliveries(at(4)) == []
    assert [d.id for d in await store.due_deliveries(at(5))] == [delivery.id]


async def test_marking_an_unknown_delivery_is_an_error(store: SqlStorage) -> None:
    with pytest.raises(StorageError, match="no delivery"):
        await store.mark_sent(12345, 1, at(0))


async def test_due_deliveries_oldest_first_and_limited(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    for n in range(5):
        await store.ingest(make_article(n), [match("csp")], at(n))
    due = await store.due_deliveries(at(10), limit=3)
    assert [d.article.identity for d in due] == ["guid:item-0", "guid:item-1", "guid:item-2"]


# chats ----------------------------------------------------------------------------------
async def test_blocked_chat_waits_and_resumes(store: SqlStorage) -> None:
    await _subscribed(store, 1, "csp")
    await store.ingest(make_article(1), [match("csp")], at(0))
    await store.set_chat_active(1, False)
    assert await store.due_deliveries(at(0)) == []
    assert await store.pending_count(1) == 1
    chat = await store.get_chat(1)
    assert chat is not None
    assert not chat.active
    await store.set_chat_active(1, True)
    assert [d.chat_id for d in await store.due_deliveries(at(0))] == [1]


async def test_upsert_and_get_chat(store: SqlStorage) -> None:
    assert await store.get_chat(7) is None
    await store.upsert_chat(Chat(id=7, type=ChatType.GROUP, title="Desk", language="en"))
    await store.upsert_chat(Chat(id=7, type=ChatType.GROUP, title="Desk renamed", language="vi"))
    assert await store.get_chat(7) == Chat(
        id=7, type="group", title="Desk renamed", language="vi", active=True
    )


async def test_migrate_chat_moves_subscriptions_and_unsent_deliveries(
    store: SqlStorage,
) -> None:
    await store.upsert_chat(Chat(id=-100, type=ChatType.GROUP, title="Desk"))
    await store.subscribe(-100, "a", None)
    await store.subscribe(-100, "b", None)
    await store.ingest(make_article(1), [match("a")], at(0))
    await store.ingest(make_article(2), [match("b")], at(0))
    sent, _pending = await store.due_deliveries(at(0))
    await store.mark_sending(sent.id, at(0))
    await store.mark_sent(sent.id, 9, at(0))
    await store.migrate_chat(-100, -1001)
    assert await store.subscriptions(-100) == []
    assert await store.subscriptions(-1001) == ["a", "b"]
    old = await store.get_chat(-100)
    assert old is not None
    assert not old.active
    assert old.migrated_to == -1001
    new = await store.get_chat(-1001)
    assert new is not None
    assert new.active
    assert new.type == "supergroup"
    assert new.title == "Desk"
    due = await store.due_deliveries(at(1))
    assert [(d.chat_id, d.article.identity) for d in due] == [(-1001, "guid:item-2")]
    await store.upsert_chat(Chat(id=-100, type=ChatType.GROUP, title="Desk"))
    still = await store.get_chat(-100)
    assert still is not None
    assert not still.active


async def test_subscription_details_modes_and_mute(store: SqlStorage) -> None:
    await store.upsert_chat(Chat(id=-5, type=ChatType.SUPERGROUP, title="Forum"))
    assert await store.subscribe(-5, "b", thread_id=77)
    assert await store.subscribe(-5, "a")
    assert not await store.subscribe(-5, "a")
    assert await store.set_subscription_mode(-5, "a", DeliveryMode.DIGEST, "hourly")
    assert not await store.set_subscription_mode(-5, "zzz", DeliveryMode.DIGEST, "hourly")
    await store.mute_chat(-5, at(30))
    details = await store.subscription_details(-5)
    assert [
        (s.rule_id, s.mode, s.digest_schedule, s.thread_id, s.muted_until) for s in details
    ] == [
        ("a", DeliveryMode.DIGEST, "hourly", None, at(30)),
        ("b", DeliveryMode.INSTANT, None, 77, at(30)),
    ]
    assert await store.subscribe(-5, "c")  # added while muted: muted too
    assert (await store.subscription_details(-5))[2].muted_until == at(30)
    await store.mute_chat(-5, None)
    assert all(s.muted_until is None for s in await store.subscription_details(-5))
    assert await store.unsubscribe(-5, "a")
    assert not await store.unsubscribe(-5, "a")
    assert await store.subscriptions(-5) == ["b", "c"]


async def test_delivery_goes_to_the_forum_topic(store: SqlStorage) -> None:
    await store.upsert_chat(Chat(id=-5, type=ChatType.SUPERGROUP))
    await store.subscribe(-5, "csp", thread_id=77)
    await store.ingest(make_article(1), [match("csp")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    assert delivery.thread_id == 77


async def test_due_digest_items_skip_articles_already_alerted(store: SqlStorage) -> None:
    await _subscribed(store, 1, "instant", "digest")
    await store.set_subscription_mode(1, "digest", DeliveryMode.DIGEST, "daily 08:00")
    await store.ingest(make_article(1), [match("digest")], at(1))
    await store.ingest(make_article(2), [match("digest"), match("instant")], at(2))
    await store.ingest(make_article(3), [match("digest")], at(3))
    items = await store.due_digest_items(1, ["digest"], since=at(1))
    assert [i.title for i in items] == ["Vietnam and Japan upgrade ties, story 3"]
    assert await store.due_digest_items(1, [], since=at(0)) == []

    until = await store.due_digest_items(1, ["digest"], since=at(0), until=at(1))
    assert [i.title for i in until] == ["Vietnam and Japan upgrade ties, story 1"]


async def test_switching_to_digest_starts_the_period_and_a_new_schedule_keeps_it(
    store: SqlStorage,
) -> None:
    await _subscribed(store, 1, "a", "b")
    assert (await store.subscription_details(1))[0].digest_sent_at is None
    assert await store.set_subscription_mode(1, "a", DeliveryMode.DIGEST, "hourly", now=at(5))
    assert await store.set_subscription_mode(1, "a", DeliveryMode.DIGEST, "daily 08:00", now=at(9))
    a, b = await store.subscription_details(1)
    assert (a.mode, a.digest_schedule, a.digest_sent_at) == (
        DeliveryMode.DIGEST,
        "daily 08:00",
        at(5),
    )
    assert b.digest_sent_at is None
    assert await store.set_subscription_mode(1, "a", DeliveryMode.INSTANT, now=at(10))
    assert (await store.subscription_details(1))[0].digest_sent_at is None
    assert await store.set_subscription_mode(1, "a", DeliveryMode.DIGEST, "hourly", now=at(20))
    assert (await store.subscription_details(1))[0].digest_sent_at == at(20)


async def test_digest_subscriptions_of_active_chats_with_their_mute(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a", "b")
    await _subscribed(store, 2, "a")
    await _subscribed(store, 3, "a")
    await store.set_subscription_mode(1, "b", DeliveryMode.DIGEST, "hourly", now=at(1))
    await store.set_subscription_mode(2, "a", DeliveryMode.DIGEST, "daily 08:00", now=at(2))
    await store.set_subscription_mode(3, "a", DeliveryMode.DIGEST, "hourly", now=at(3))
    await store.mute_chat(2, at(60))
    await store.set_chat_active(3, False)
    subs = await store.digest_subscriptions()
    assert [
        (s.chat_id, s.rule_id, s.digest_schedule, s.muted_until, s.digest_sent_at) for s in subs
    ] == [
        (1, "b", "hourly", None, at(1)),
        (2, "a", "daily 08:00", at(60), at(2)),
    ]
    await store.set_chat_active(3, True)
    assert [s.chat_id for s in await store.digest_subscriptions()] == [1, 2, 3]


async def test_mark_digest_sent_moves_forward_only_and_only_digest_rows(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a", "b", "c")
    await _subscribed(store, 2, "a")
    for rule_id in ("a", "b"):
        await store.set_subscription_mode(1, rule_id, DeliveryMode.DIGEST, "hourly", now=at(0))
    await store.set_subscription_mode(2, "a", DeliveryMode.DIGEST, "hourly", now=at(0))
    await store.mark_digest_sent(1, ["a", "b", "c"], at(60))
    await store.mark_digest_sent(1, ["a"], at(30))  # backwards: ignored
    await store.mark_digest_sent(1, [], at(90))
    sent = {s.rule_id: s.digest_sent_at for s in await store.subscription_details(1)}
    assert sent == {"a": at(60), "b": at(60), "c": None}
    assert (await store.subscription_details(2))[0].digest_sent_at == at(0)


async def test_migrated_chat_keeps_its_digest_period(store: SqlStorage) -> None:
    await store.upsert_chat(Chat(id=-100, type=ChatType.GROUP, title="Desk"))
    await store.subscribe(-100, "a")
    await store.set_subscription_mode(-100, "a", DeliveryMode.DIGEST, "hourly", now=at(7))
    await store.migrate_chat(-100, -1001)
    [sub] = await store.digest_subscriptions()
    assert (sub.chat_id, sub.digest_schedule, sub.digest_sent_at) == (-1001, "hourly", at(7))


# feeds ----------------------------------------------------------------------------------
async def test_sync_feeds_and_state_round_trip(store: SqlStorage) -> None:
    await store.sync_feeds(
        [
            FeedConfig("http://127.0.0.1/a.xml", name="A", tags=("vn",)),
            FeedConfig("http://127.0.0.1/b.xml"),
        ],
        at(0),
    )
    assert [f.url for f in await store.due_feeds(at(0))] == [
        "http://127.0.0.1/a.xml",
        "http://127.0.0.1/b.xml",
    ]
    state = await store.get_feed("http://127.0.0.1/a.xml")
    assert state is not None
    assert state.tags == ("vn",)
    assert state.name == "A"
    polled = FeedState(
        url="http://127.0.0.1/a.xml",
        name="A",
        tags=("vn",),
        etag='"abc"',
        last_modified="Fri, 11 Jul 2025 12:00:00 GMT",
        next_check_at=at(15),
        last_checked_at=at(0),
        last_success_at=at(0),
        consecutive_errors=0,
        items_seen=12,
        first_poll_done=True,
        redirected_to="http://127.0.0.1/moved.xml",
        failing_since=at(-1),
    )
    await store.save_feed_state(polled)
    assert await store.get_feed("http://127.0.0.1/a.xml") == polled
    assert [f.url for f in await store.due_feeds(at(1))] == ["http://127.0.0.1/b.xml"]
    # Re-sync: config changes apply, validators stay, feeds gone from config go.
    await store.sync_feeds([FeedConfig("http://127.0.0.1/a.xml", name="A2")], at(2))
    (kept,) = await store.list_feeds()
    assert (kept.name, kept.etag, kept.items_seen, kept.tags) == ("A2", '"abc"', 12, ())
    await store.save_feed_state(FeedState(url="http://127.0.0.1/a.xml", disabled_reason="410 Gone"))
    assert await store.due_feeds(at(100)) == []


# queries --------------------------------------------------------------------------------
async def test_recent_matches_per_rule_and_per_chat(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a")
    for n in range(4):
        await store.ingest(make_article(n), [match("a" if n % 2 else "b")], at(n))
    recent = await store.recent_matches(limit=3)
    assert [(m.rule_id, m.matched_at) for m in recent] == [("a", at(3)), ("b", at(2)), ("a", at(1))]
    assert [m.matched_at for m in await store.recent_matches(rule_id="b")] == [at(2), at(0)]
    assert [m.rule_id for m in await store.recent_matches(chat_id=1)] == ["a", "a"]
    assert await store.recent_matches(chat_id=999) == []
    assert recent[0].hits == (Hit("partnership", "summary", 3, 14),)


async def test_search_finds_words_stemmed_and_ranks_title_first(store: SqlStorage) -> None:
    await store.ingest(
        make_article(1, title="Fishing fleets return", summary="Boats in port."), [], at(0)
    )
    await store.ingest(
        make_article(2, title="Port news", summary="The fleet of fishermen went fishing again."),
        [],
        at(0),
    )
    await store.ingest(make_article(3, title="Unrelated", summary="Nothing here."), [], at(0))
    hits = await store.search_articles("fishing fleet")
    assert [h.title for h in hits] == ["Fishing fleets return", "Port news"]
    assert "fishing" in hits[1].snippet
    assert await store.search_articles('"; DROP TABLE articles; --') == []
    assert await store.search_articles("   ") == []
    # FTS syntax in user text is taken as plain words, never as operators
    assert [h.title for h in await store.search_articles("fleet*")] == [
        "Fishing fleets return",
        "Port news",
    ]


async def test_search_sees_edits(store: SqlStorage) -> None:
    await store.ingest(make_article(1, summary="About tariffs."), [], at(0))
    await store.ingest(make_article(1, summary="About semiconductors."), [], at(1))
    assert await store.search_articles("tariffs") == []
    assert [h.article_id for h in await store.search_articles("semiconductors")] != []


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


async def test_iter_articles_pages_with_rule_ids(store: SqlStorage) -> None:
    for n in range(7):
        await store.ingest(make_article(n), [match("b"), match("a")] if n % 3 == 0 else [], at(n))
    seen = [(a.identity, rules) async for a, rules in store.iter_articles(batch=3)]
    assert len(seen) == 7
    assert seen[0] == ("guid:item-0", ("a", "b"))
    assert seen[1] == ("guid:item-1", ())
    articles = [a async for a, _ in store.iter_articles()]
    assert articles[0] == make_article(0)


# retention ------------------------------------------------------------------------------
async def test_prune_removes_old_articles_in_batches_and_keeps_matches(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a")
    for n in range(7):
        await store.ingest(make_article(n), [match("a")], at(0))
    await store.ingest(make_article(100), [match("a")], at(0) + timedelta(days=95))
    for delivery in await store.due_deliveries(at(0), limit=100):
        if delivery.article.identity != "guid:item-6":  # item 6 stays unsent
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


# errors ---------------------------------------------------------------------------------
async def test_unusable_database_gives_a_one_line_storage_error(tmp_path: object) -> None:
    storage = SqlStorage("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(StorageError, match="cannot open database") as info:
        await storage.open()
    assert "\n" not in str(info.value)


async def test_calls_before_open_are_refused() -> None:
    with pytest.raises(StorageError, match="not open"):
        await SqlStorage("sqlite+aiosqlite:///x.db").pending_count()


# ingest_many: one transaction per batch, same results as one by one --------------------------
async def test_ingest_many_matches_one_by_one_semantics(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a", "b")
    await store.ingest(make_article(9), [match("a")], at(0))  # known before the batch
    batch = [
        (make_article(1), [match("a"), match("a")]),  # duplicate rule: one match
        (make_article(1), [match("a"), match("b")]),  # same article again, b newly matches
        (make_article(2), []),
        (make_article(2, identity="guid:moved", guid="moved"), []),  # guid changed
        (make_article(1, summary="Edited in the same poll."), [match("a")]),
        (make_article(9), [match("a")]),
        (make_article(9, title="Story 9, retitled"), [match("a")]),
    ]
    results = await store.ingest_many(batch, at(1))
    assert [(r.status, r.new_matches, r.new_deliveries) for r in results] == [
        (IngestStatus.NEW, 1, 1),
        (IngestStatus.UNCHANGED, 1, 0),
        (IngestStatus.NEW, 0, 0),
        (IngestStatus.UNCHANGED, 0, 0),
        (IngestStatus.UPDATED, 0, 0),
        (IngestStatus.UNCHANGED, 0, 0),
        (IngestStatus.UPDATED, 0, 0),
    ]
    assert results[0].article_id == results[1].article_id == results[4].article_id
    assert results[2].article_id == results[3].article_id
    due = await store.due_deliveries(at(1))
    assert [(d.article.identity, [m.rule_id for m in d.matches]) for d in due] == [
        ("guid:item-9", ["a"]),
        ("guid:item-1", ["a", "b"]),
    ]
    assert due[1].article.summary == "Edited in the same poll."


async def test_ingest_many_is_all_or_nothing(store: SqlStorage) -> None:
    await _subscribed(store, 1, "a")
    batch = [
        (make_article(1), [match("a")]),
        (make_article(2, published_at=T0.replace(tzinfo=None)), [match("a")]),
    ]
    with pytest.raises(StorageError):
        await store.ingest_many(batch, at(0))
    assert [a async for a in store.iter_articles()] == []
    assert await store.pending_count() == 0
    assert await store.ingest_many([], at(0)) == []


async def test_search_scores_only_the_newest_window(
    store: SqlStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.sql

    monkeypatch.setattr(storage.sql, "SEARCH_WINDOW", 2)
    for n in range(4):
        await store.ingest(make_article(n, title=f"Harbour story {n}", summary="x"), [], at(n))
    hits = await store.search_articles("harbour", limit=10)
    assert sorted(h.title for h in hits) == ["Harbour story 2", "Harbour story 3"]
