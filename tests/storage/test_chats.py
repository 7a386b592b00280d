"""Chats and subscriptions: migration, modes, mute, digest state (``storage/sql/chats.py``). Each
test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

from core.models import Chat, ChatSettings, ChatType, DeliveryMode, Language, RenderedMessage
from storage import SqlStorage
from storage.base import Feedback
from tests.support.storage_helpers import article_of, at, make_article, match, subscribed


# chats ----------------------------------------------------------------------------------
async def test_blocked_chat_waits_and_resumes(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
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
        id=7, type=ChatType.GROUP, title="Desk renamed", language="vi", active=True
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
    assert [(d.chat_id, article_of(d).identity) for d in due] == [(-1001, "guid:item-2")]
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


async def test_switching_to_digest_starts_the_period_and_a_new_schedule_keeps_it(
    store: SqlStorage,
) -> None:
    await subscribed(store, 1, "a", "b")
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
    await subscribed(store, 1, "a", "b")
    await subscribed(store, 2, "a")
    await subscribed(store, 3, "a")
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
    await subscribed(store, 1, "a", "b", "c")
    await subscribed(store, 2, "a")
    for rule_id in ("a", "b"):
        await store.set_subscription_mode(1, rule_id, DeliveryMode.DIGEST, "hourly", now=at(0))
    await store.set_subscription_mode(2, "a", DeliveryMode.DIGEST, "hourly", now=at(0))
    await store.mark_digest_sent(1, ["a", "b", "c"], at(60))
    await store.mark_digest_sent(1, ["a"], at(30))  # backwards: ignored
    await store.mark_digest_sent(1, [], at(90))
    sent = {s.rule_id: s.digest_sent_at for s in await store.subscription_details(1)}
    assert sent == {"a": at(60), "b": at(60), "c": None}
    assert (await store.subscription_details(2))[0].digest_sent_at == at(0)


async def test_a_migrated_chat_keeps_its_settings_rule_mutes_and_trend_opt_ins(
    store: SqlStorage,
) -> None:
    await store.upsert_chat(Chat(id=-100, type=ChatType.GROUP, title="Desk"))
    await store.subscribe(-100, "a")
    await store.save_chat_settings(-100, ChatSettings(language=Language.VI), at(0))
    assert await store.mute_rule(-100, "a", at(60), at(1))
    assert await store.set_trend_watch(-100, "a", True, at(2), thread_id=None)
    await store.migrate_chat(-100, -1001)
    assert (await store.chat_settings()) == {-1001: ChatSettings(language=Language.VI)}
    assert [w.chat_id for w in await store.trend_watches()] == [-1001]
    assert await store.unmute_rule(-1001, "a") == at(1)  # the mute moved with its start
    assert await store.unmute_rule(-100, "a") is None


async def test_migrated_chat_keeps_its_digest_period(store: SqlStorage) -> None:
    await store.upsert_chat(Chat(id=-100, type=ChatType.GROUP, title="Desk"))
    await store.subscribe(-100, "a")
    await store.set_subscription_mode(-100, "a", DeliveryMode.DIGEST, "hourly", now=at(7))
    await store.migrate_chat(-100, -1001)
    [sub] = await store.digest_subscriptions()
    assert (sub.chat_id, sub.digest_schedule, sub.digest_sent_at) == (-1001, "hourly", at(7))


async def test_a_returned_chat_is_listed_once_with_the_moment_it_went_away(
    store: SqlStorage,
) -> None:
    await store.upsert_chat(Chat(id=9, type=ChatType.PRIVATE))
    await store.set_chat_active(9, False)
    assert await store.returned_chats() == []  # still away
    await store.set_chat_active(9, False)  # a second 403 keeps the first moment
    await store.set_chat_active(9, True)
    [(chat_id, since)] = await store.returned_chats()
    assert chat_id == 9
    page = RenderedMessage("<b>x</b>", "x", disable_notification=True)
    assert await store.queue_catch_up(9, since, [(None, ["csp"], [page])], since)
    # compare-and-set: a second run (or replica) queues nothing more
    assert not await store.queue_catch_up(9, since, [(None, ["csp"], [page])], since)
    assert await store.returned_chats() == []
    assert await store.pending_count(9) == 1


async def test_migrate_chat_cancels_edits_of_the_old_chats_messages(store: SqlStorage) -> None:
    """An edit queued for an alert the group got is bound to that message: moved, it would
    edit whichever message has the id in the supergroup. It is cancelled; a new alert moves.
    A new alert queued for the old id afterwards (an ingest that raced the migration) is
    still handed out, so that its send, answered "migrated", moves it; an edit is not."""
    await store.upsert_chat(Chat(id=-100, type=ChatType.GROUP, title="Desk"))
    await store.subscribe(-100, "a", None)
    await store.ingest(make_article(1), [match("a")], at(0))
    await store.ingest(make_article(3), [match("a")], at(0))
    for n, alert in enumerate(await store.due_deliveries(at(0))):
        await store.mark_sending(alert.id, at(0))
        await store.mark_sent(alert.id, 9 + n, at(0))
    await store.ingest(make_article(1, title="Item 1, updated"), [match("a")], at(1))
    await store.ingest(make_article(2), [match("a")], at(1))
    assert {d.kind.value for d in await store.due_deliveries(at(1))} == {"edit", "alert"}
    await store.migrate_chat(-100, -1001)
    due = await store.due_deliveries(at(2))
    assert [(d.chat_id, d.kind.value, article_of(d).identity) for d in due] == [
        (-1001, "alert", "guid:item-2")
    ]
    assert await store.pending_count(-1001) == 1
    assert await store.pending_count(-100) == 0
    # an alert the group got, updated after the migration: no edit is queued (it could not
    # be sent; it would wait for good, and keep its article from being pruned)
    await store.ingest(make_article(3, title="Item 3, updated"), [match("a")], at(3))
    assert await store.pending_count(-100) == 0
    assert [d.chat_id for d in await store.due_deliveries(at(3))] == [-1001]


async def test_a_migrated_chat_keeps_its_not_relevant_marks_once(store: SqlStorage) -> None:
    """The marks follow the chat (so an old alert still shows "marked", and marking it again
    in the new chat adds nothing); a mark the new id already has for the same rule and
    article wins."""
    await store.upsert_chat(Chat(id=-100, type=ChatType.GROUP, title="Desk"))
    for chat_id, rule_id, user in ((-100, "a", 1), (-100, "b", 1), (-1001, "b", 2)):
        mark = Feedback(chat_id, rule_id, "guid:item-1", "Item 1", None, user, at(0))
        assert await store.add_feedback(mark)
    await store.migrate_chat(-100, -1001)
    marks = sorted((f.chat_id, f.rule_id, f.user_id) for f in await store.feedback())
    assert marks == [(-1001, "a", 1), (-1001, "b", 2)]
    again = Feedback(-1001, "a", "guid:item-1", "Item 1", None, 3, at(1))
    assert not await store.add_feedback(again)
