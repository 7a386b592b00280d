"""Ingest: identity, edits, exactly-once, and ``ingest_many`` (``storage/sql/articles.py`` and
``storage/sql/ingest.py``). Each test runs on SQLite and on PostgreSQL (the ``database_url``
fixture)."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import StorageError
from core.models import DeliveryKind, DeliveryMode, Hit, RuleMatch
from storage import SqlStorage
from storage.base import IngestStatus
from tests.support.storage_helpers import T0, article_of, at, make_article, match, subscribed


# ingest: identity, edits, exactly-once -------------------------------------------------------
async def test_new_article_is_stored_once_with_its_matches(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    first = await store.ingest(make_article(1), [match("csp")], at(0))
    again = await store.ingest(make_article(1), [match("csp")], at(1))
    assert first.status is IngestStatus.NEW
    assert (first.new_matches, first.new_deliveries) == (1, 1)
    assert again.status is IngestStatus.UNCHANGED
    assert again.article_id == first.article_id
    assert (again.new_matches, again.new_deliveries) == (0, 0)
    assert await store.pending_count() == 1


async def test_same_identity_from_a_second_feed_is_the_same_article(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    first = await store.ingest(make_article(1), [match("csp")], at(0))
    other_feed = make_article(1, feed_url="http://127.0.0.1/other.xml")
    second = await store.ingest(other_feed, [match("csp")], at(1))
    assert second.status is IngestStatus.UNCHANGED
    assert second.article_id == first.article_id
    assert await store.pending_count(1) == 1


async def test_changed_guid_with_same_link_and_title_is_not_new(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
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


async def test_same_link_with_another_title_and_guid_is_the_same_article(store: SqlStorage) -> None:
    # Issue #13: the canonical link is the article; a new title under it is an update.
    await subscribed(store, 1, "csp")
    first = await store.ingest(make_article(1), [match("csp")], at(0))
    other = make_article(1, identity="guid:x", guid="x", title="Vietnam and US upgrade ties")
    second = await store.ingest(other, [match("csp")], at(1))
    assert second.status is IngestStatus.UPDATED
    assert second.article_id == first.article_id
    assert (second.new_matches, second.new_deliveries) == (0, 0)
    assert await store.pending_count() == 1


async def test_one_link_twice_in_one_batch_is_one_article(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    a = make_article(1)
    b = make_article(1, identity="guid:y", guid="y", title="Vietnam, US upgrade ties")
    results = await store.ingest_many([(a, [match("csp")]), (b, [match("csp")])], at(0))
    assert [r.status for r in results] == [IngestStatus.NEW, IngestStatus.UPDATED]
    assert results[0].article_id == results[1].article_id
    assert await store.pending_count() == 1


async def test_edited_article_is_updated_with_history_and_not_new(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
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
    await subscribed(store, 1, "a", "b", "c")
    await subscribed(store, 2, "b")
    result = await store.ingest(
        make_article(1), [match("a"), match("b"), match("c"), match("d")], at(0)
    )
    assert (result.new_matches, result.new_deliveries) == (4, 2)
    due = {d.chat_id: d for d in await store.due_deliveries(at(0))}
    assert [m.rule_id for m in due[1].matches] == ["a", "b", "c"]
    assert [m.rule_id for m in due[2].matches] == ["b"]
    assert due[1].matches[0].hits == (Hit("partnership", "summary", 3, 14),)
    assert article_of(due[1]).title == "Vietnam and Japan upgrade ties, story 1"
    assert due[1].kind is DeliveryKind.ALERT


async def test_alert_false_stores_matches_but_queues_nothing(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    result = await store.ingest(make_article(1), [match("csp")], at(0), alert=False)
    assert (result.new_matches, result.new_deliveries) == (1, 0)
    assert await store.due_deliveries(at(0)) == []
    again = await store.ingest(make_article(1), [match("csp")], at(1))
    assert again.new_deliveries == 0  # the match existed: the first poll is a baseline


async def test_only_active_instant_unmuted_subscribers_get_deliveries(store: SqlStorage) -> None:
    await subscribed(store, 1, "r")  # instant, active
    await subscribed(store, 2, "r")  # digest
    await subscribed(store, 3, "r")  # blocked
    await subscribed(store, 4, "r")  # muted until later
    await subscribed(store, 5, "r")  # muted until a time already past
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
    await subscribed(store, 1, "a")
    await subscribed(store, 2, "b")
    await store.ingest(make_article(1), [match("a")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    await store.mark_sent(delivery.id, 100, at(0))
    # After a rule reload, rule b matches too: chat 2 gets its alert, chat 1 nothing more.
    result = await store.ingest(make_article(1), [match("a"), match("b")], at(1))
    assert (result.new_matches, result.new_deliveries) == (1, 1)
    assert [d.chat_id for d in await store.due_deliveries(at(1))] == [2]


async def test_pending_alert_is_extended_with_a_newly_matching_rule(store: SqlStorage) -> None:
    await subscribed(store, 1, "a", "b")
    await store.ingest(make_article(1), [match("a")], at(0))
    await store.ingest(make_article(1), [match("a"), match("b")], at(1))
    (delivery,) = await store.due_deliveries(at(1))
    assert [m.rule_id for m in delivery.matches] == ["a", "b"]


async def test_edit_after_sent_alert_queues_an_edit_of_that_message(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
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
    assert article_of(edit).summary == "Corrected summary."
    await store.mark_sending(edit.id, at(2))
    await store.mark_sent(edit.id, None, at(2))
    assert await store.due_deliveries(at(3)) == []
    assert await store.pending_count() == 0


async def test_an_edit_replaces_the_stored_hits_so_highlights_fit_the_new_text(
    store: SqlStorage,
) -> None:
    # Issue #16: offsets from the old text applied to the new bolded "Partne<b>rship, </b>a..."
    await subscribed(store, 1, "csp", "sea")
    old = make_article(1, summary="The Comprehensive Strategic Partnership, and more.")
    hit = Hit("partnership", "summary", 28, 39)
    await store.ingest(old, [RuleMatch("csp", (hit,)), match("sea")], at(0))
    (delivery,) = await store.due_deliveries(at(0))
    await store.mark_sending(delivery.id, at(0))
    await store.mark_sent(delivery.id, 555, at(0))
    new_summary = "Viet Nam and Japan: the Comprehensive Strategic Partnership, and more."
    new_hit = Hit("partnership", "summary", 48, 59)
    assert new_summary[48:59] == "Partnership"
    edited = make_article(1, summary=new_summary)
    await store.ingest(edited, [RuleMatch("csp", (new_hit,))], at(2))
    (edit,) = await store.due_deliveries(at(2))
    hits = {m.rule_id: m.hits for m in edit.matches}
    assert hits == {"csp": (new_hit,), "sea": ()}  # "sea" no longer matches: no stale offsets


async def test_ingest_is_one_transaction(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    bad = make_article(1, published_at=T0.replace(tzinfo=None))  # refused: naive time
    with pytest.raises(StorageError):
        await store.ingest(bad, [match("csp")], at(0))
    assert [a async for a in store.iter_articles()] == []
    assert await store.recent_matches() == []
    assert await store.pending_count() == 0


async def test_concurrent_ingest_of_one_article_creates_it_once(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    results = await asyncio.gather(
        *(store.ingest(make_article(1), [match("csp")], at(0)) for _ in range(8))
    )
    assert [r.status for r in results].count(IngestStatus.NEW) == 1
    assert len({r.article_id for r in results}) == 1
    assert sum(r.new_deliveries for r in results) == 1


# ingest_many: one transaction per batch, same results as one by one --------------------------
async def test_ingest_many_matches_one_by_one_semantics(store: SqlStorage) -> None:
    await subscribed(store, 1, "a", "b")
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
    assert [(article_of(d).identity, [m.rule_id for m in d.matches]) for d in due] == [
        ("guid:item-9", ["a"]),
        ("guid:item-1", ["a", "b"]),
    ]
    assert article_of(due[1]).summary == "Edited in the same poll."


async def test_ingest_many_is_all_or_nothing(store: SqlStorage) -> None:
    await subscribed(store, 1, "a")
    batch = [
        (make_article(1), [match("a")]),
        (make_article(2, published_at=T0.replace(tzinfo=None)), [match("a")]),
    ]
    with pytest.raises(StorageError):
        await store.ingest_many(batch, at(0))
    assert [a async for a in store.iter_articles()] == []
    assert await store.pending_count() == 0
    assert await store.ingest_many([], at(0)) == []
