"""Stories in storage (SQLite and PostgreSQL): each new article stored with its story and why,
one alert per story and chat (later sources edit it, or reply to it once it is old), per-article
alerts on request, splits that are kept, and the window read back at start-up."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from core.errors import StorageError
from core.models import DeliveryKind, StoryPlacement
from storage import SqlStorage
from tests.support.storage_helpers import T0, at, make_article, match, subscribed

WHY = json.dumps({"reason": "shared names and signals (same language)", "score": 0.41})


def placed(key: str, *separate: str) -> StoryPlacement:
    return StoryPlacement(key, WHY, frozenset(separate))


async def send(store: SqlStorage, when_min: float, message_id: int = 700) -> None:
    for delivery in await store.due_deliveries(at(when_min)):
        await store.mark_sending(delivery.id, at(when_min))
        await store.mark_sent(delivery.id, message_id, at(when_min))


async def test_new_articles_are_stored_with_their_story_and_why(store: SqlStorage) -> None:
    items = [(make_article(1), [match("csp")]), (make_article(2), [match("csp")])]
    results = await store.ingest_many(items, at(0), stories=[placed("s1"), placed("s1")])
    story = await store.story_of_article(results[0].article_id)
    assert story is not None
    assert story.key == "s1"
    assert [a.article_id for a in story.articles] == [r.article_id for r in results]
    assert story.articles[1].why["score"] == 0.41
    assert story.title == make_article(1).title
    assert await store.stories_of_articles([r.article_id for r in results]) == {
        r.article_id: story.id for r in results
    }


async def test_a_second_source_in_the_same_batch_is_listed_in_one_alert(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    items = [
        (make_article(1), [match("csp")]),
        (make_article(2, feed_name="VietnamNet"), [match("csp")]),
    ]
    results = await store.ingest_many(items, at(0), stories=[placed("s1"), placed("s1")])
    assert [r.new_deliveries for r in results] == [1, 0]
    (alert,) = await store.due_deliveries(at(0))
    assert alert.kind is DeliveryKind.ALERT
    assert [s.feed_name for s in alert.sources] == ["Example News", "VietnamNet"]
    assert alert.sources[0].article_id == results[0].article_id


async def test_a_later_source_edits_the_sent_alert_to_list_it(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await store.ingest_many([(make_article(1), [match("csp")])], at(0), stories=[placed("s1")])
    await send(store, 0, message_id=555)
    later = make_article(2, feed_name="VietnamNet")
    (result,) = await store.ingest_many([(later, [match("csp")])], at(30), stories=[placed("s1")])
    assert result.new_deliveries == 1  # the edit of the story's alert
    (edit,) = await store.due_deliveries(at(30))
    assert edit.kind is DeliveryKind.SOURCES
    assert edit.message_id == 555
    assert edit.article is not None
    assert edit.article.identity == "guid:item-1"
    assert [s.feed_name for s in edit.sources] == ["Example News", "VietnamNet"]


async def test_a_source_of_an_old_story_is_a_reply_threaded_to_its_alert(
    store: SqlStorage,
) -> None:
    await subscribed(store, 1, "csp")
    await store.ingest_many([(make_article(1), [match("csp")])], at(0), stories=[placed("s1")])
    await send(store, 0, message_id=555)
    late = at(0) + timedelta(hours=49)
    await store.ingest_many([(make_article(2), [match("csp")])], late, stories=[placed("s1")])
    (reply,) = await store.due_deliveries(late)
    assert reply.kind is DeliveryKind.REPLY
    assert reply.message_id == 555
    assert reply.article is not None
    assert reply.article.identity == "guid:item-2"
    assert len(reply.sources) == 2


async def test_a_separate_rule_or_chat_gets_every_article(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await subscribed(store, 2, "csp")
    assert await store.set_chat_stories_separate(2, True)
    assert await store.chat_stories_separate(2)
    items = [(make_article(1), [match("csp")]), (make_article(2), [match("csp")])]
    await store.ingest_many(items, at(0), stories=[placed("s1"), placed("s1")])
    due = await store.due_deliveries(at(0))
    assert sorted(d.chat_id for d in due) == [1, 2, 2]
    await store.ingest_many(
        [(make_article(3), [match("csp")])], at(1), stories=[placed("s1", "csp")]
    )
    assert len([d for d in await store.due_deliveries(at(1)) if d.chat_id == 1]) == 2


async def test_a_split_is_kept_and_read_back_in_the_window(store: SqlStorage) -> None:
    items = [(make_article(1), [match("csp")]), (make_article(2), [match("csp")])]
    results = await store.ingest_many(items, at(0), stories=[placed("s1"), placed("s1")])
    old = await store.story_of_article(results[1].article_id)
    assert old is not None
    new = await store.split_article(results[1].article_id, at(5))
    assert new.split_from == old.id
    assert new.key == "split:guid:item-2"
    assert new.articles[0].pinned
    assert new.articles[0].why["reason"] == "split by a person"
    with pytest.raises(StorageError):
        await store.split_article(results[1].article_id, at(6))  # alone already
    # A re-poll of the split article does not move it back.
    await store.ingest_many([items[1]], at(7), stories=[placed("s1")])
    again = await store.story_of_article(results[1].article_id)
    assert again is not None
    assert again.id == new.id
    window = await store.story_window(T0 - timedelta(days=3))
    assert {(a.identity, a.story_key) for a in window} == {
        ("guid:item-1", "s1"),
        ("guid:item-2", "split:guid:item-2"),
    }
    assert await store.story_window(at(60)) == []


async def test_an_outlet_edit_of_a_story_alert_keeps_its_sources_and_replies_stay_replies(
    store: SqlStorage,
) -> None:
    await subscribed(store, 1, "csp")
    items = [(make_article(1), [match("csp")]), (make_article(2), [match("csp")])]
    first, _ = await store.ingest_many(items, at(0), stories=[placed("s1"), placed("s1")])
    await send(store, 0, message_id=555)
    late = at(0) + timedelta(hours=50)
    await store.ingest_many([(make_article(3), [match("csp")])], late, stories=[placed("s1")])
    await send(store, 50 * 60, message_id=556)  # the reply
    # The first outlet corrects its report: its alert is edited, sources and all; the reply
    # announcing report 3 is left alone even when report 3 is corrected too.
    corrected = [
        (make_article(1, summary="Corrected."), [match("csp")]),
        (make_article(3, summary="Corrected too."), [match("csp")]),
    ]
    await store.ingest_many(corrected, late, stories=[placed("s1"), placed("s1")])
    (edit,) = await store.due_deliveries(late)
    assert edit.kind is DeliveryKind.EDIT
    assert edit.message_id == 555
    assert edit.article is not None
    assert edit.article.summary == "Corrected."
    assert edit.sources[0].article_id == first.article_id
    assert len(edit.sources) == 3


async def test_a_story_alert_lists_only_sources_that_matched_its_rules(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    items = [(make_article(1), [match("csp")]), (make_article(2), [match("sea")])]
    await store.ingest_many(items, at(0), stories=[placed("s1"), placed("s1")])
    (alert,) = await store.due_deliveries(at(0))
    assert alert.sources == ()  # report 2 is in the story, but the chat's rule missed it
