"""Self-service storage (``storage/sql/personal.py``): personal rules numbered per chat within a
limit, one rule's mute and its start, "not relevant" feedback. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from core.models import ChatSettings, Language, SnippetLength
from storage import SqlStorage
from storage.base import Feedback
from tests.support.storage_helpers import at, make_article, match, subscribed


async def test_personal_rules_are_numbered_per_chat_within_the_limit(store: SqlStorage) -> None:
    first = await store.add_personal_rule(1, "Rubio", "Rubio", limit=2, created_by=5, now=at(0))
    second = await store.add_personal_rule(1, "EU", "EU", limit=2, created_by=5, now=at(1))
    other = await store.add_personal_rule(-7, "EU", "EU", limit=2, created_by=5, now=at(1))
    assert first is not None
    assert second is not None
    assert other is not None
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert await store.add_personal_rule(1, "x", "x", limit=2, created_by=5, now=at(2)) is None
    assert [r.name for r in await store.personal_rules(1)] == ["Rubio", "EU"]
    assert [(r.chat_id, r.number) for r in await store.personal_rules()] == [
        (-7, 1),
        (1, 1),
        (1, 2),
    ]
    assert first.created_at == at(0)
    assert first.created_by == 5
    assert not first.paused


async def test_concurrent_saves_take_distinct_numbers(store: SqlStorage) -> None:
    saved = await asyncio.gather(
        *(
            store.add_personal_rule(3, f"r{i}", "x", limit=10, created_by=None, now=at(0))
            for i in range(4)
        )
    )
    assert sorted(r.number for r in saved if r is not None) == [1, 2, 3, 4]


async def test_update_pause_and_delete(store: SqlStorage) -> None:
    await store.add_personal_rule(1, "Rubio", "Rubio", limit=5, created_by=None, now=at(0))
    changed = await store.update_personal_rule(1, 1, query="Rubio OR Blinken", now=at(1))
    assert changed is not None
    assert changed.query == "Rubio OR Blinken"
    assert changed.name == "Rubio"
    paused = await store.update_personal_rule(1, 1, paused=True, now=at(2))
    assert paused is not None
    assert paused.paused
    assert await store.update_personal_rule(1, 9, paused=True, now=at(2)) is None
    assert await store.delete_personal_rule(1, 1)
    assert not await store.delete_personal_rule(1, 1)
    assert await store.personal_rules(1) == []


async def test_a_muted_rule_queues_nothing_and_unmute_says_since_when(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await store.subscribe(1, "eu")
    assert not await store.mute_rule(1, "nope", at(60), at(0))
    assert await store.mute_rule(1, "csp", at(60), at(0))
    assert await store.mute_rule(1, "csp", None, at(5))  # muted again: it began at 0
    await store.ingest(make_article(1), [match("csp")], at(10))
    await store.ingest(make_article(2), [match("eu")], at(10))
    assert await store.pending_count(1) == 1  # only eu's alert
    mutes = {s.rule_id: s.muted_until for s in await store.subscription_details(1)}
    assert mutes["eu"] is None
    assert mutes["csp"] is not None
    assert mutes["csp"].year == 9999
    assert await store.unmute_rule(1, "csp") == at(0)
    assert await store.unmute_rule(1, "csp") is None
    assert {s.muted_until for s in await store.subscription_details(1)} == {None}
    items = await store.due_digest_items(1, ["csp"], at(0), at(20))
    assert [m.title for m in items] == [make_article(1).title]


async def test_feedback_is_kept_once_per_chat_rule_and_article(store: SqlStorage) -> None:
    fb = Feedback(1, "csp", "guid:1", "A title", "https://x.example/1", 5, at(0))
    assert await store.add_feedback(fb)
    assert not await store.add_feedback(fb)
    assert await store.add_feedback(Feedback(2, "csp", "guid:1", "A title", None, 6, at(1)))
    assert [f.chat_id for f in await store.feedback(["csp"])] == [2, 1]
    assert await store.feedback(["eu"]) == []


async def test_chat_settings_round_trip_and_defaults_leave_no_row(store: SqlStorage) -> None:
    assert await store.chat_settings() == {}
    chosen = ChatSettings(
        timezone="Europe/Paris",
        link_preview=True,
        snippet=SnippetLength.SHORT,
        language=Language.VI,
        digest_days=(0, 1, 2, 3, 4),
    )
    await store.save_chat_settings(-4001, chosen, at(0))
    await store.save_chat_settings(1, ChatSettings(digest_days=()), at(0))
    assert await store.chat_settings() == {-4001: chosen, 1: ChatSettings(digest_days=())}
    await store.save_chat_settings(-4001, ChatSettings(), at(1))
    assert set(await store.chat_settings()) == {1}


async def test_one_rules_mute_is_not_inherited_by_a_new_subscription(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    assert await store.mute_rule(1, "csp", None, at(0))
    await store.subscribe(1, "eu")
    mutes = {s.rule_id: s.muted_until for s in await store.subscription_details(1)}
    assert mutes["eu"] is None
    await store.mute_chat(1, at(60))  # the whole chat's mute still is
    await store.subscribe(1, "asean")
    mutes = {s.rule_id: s.muted_until for s in await store.subscription_details(1)}
    assert mutes["asean"] == at(60)


async def test_expired_rule_mutes(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await store.subscribe(1, "eu")
    await store.subscribe(1, "asean")
    await store.mute_rule(1, "csp", at(60), at(0))
    await store.mute_rule(1, "eu", None, at(1))  # until unmuted: never expires
    await store.mute_rule(1, "asean", at(30), at(2))
    await store.unsubscribe(1, "asean")  # gone: its mute is listed to be forgotten
    assert await store.expired_rule_mutes(at(10)) == [(1, "asean")]
    assert await store.expired_rule_mutes(at(60)) == [(1, "csp"), (1, "asean")]


async def test_a_migration_moves_the_personal_rules_with_their_ids(store: SqlStorage) -> None:
    """The group's rules become the supergroup's, under the ids they were saved with (so the
    rule set in force, matches, mutes and feedback need no renaming); a number the new chat
    already uses goes after its highest; the limit counts them there."""
    for name in ("Rubio", "EU"):
        await store.add_personal_rule(-100, name, name, limit=5, created_by=None, now=at(0))
    own = await store.add_personal_rule(
        -1001, "ASEAN", "ASEAN", limit=5, created_by=None, now=at(1)
    )
    assert own is not None
    assert own.rule_id == "u-1001-1"
    await store.subscribe(-100, "u-100-1")
    await store.migrate_chat(-100, -1001)
    moved = await store.personal_rules(-1001)
    assert [(r.number, r.rule_id, r.name) for r in moved] == [
        (1, "u-1001-1", "ASEAN"),
        (2, "u-100-1", "Rubio"),  # number 1 was taken: after the highest
        (3, "u-100-2", "EU"),
    ]
    assert await store.personal_rules(-100) == []
    assert await store.subscriptions(-1001) == ["u-100-1"]
    owner = await store.personal_rule("u-100-2")
    assert owner is not None
    assert (owner.chat_id, owner.number) == (-1001, 3)
    assert await store.personal_rule("u-100-9") is None
    # counted against the new chat's limit, edited and deleted by its own numbers
    assert (
        await store.add_personal_rule(-1001, "x", "x", limit=3, created_by=None, now=at(2)) is None
    )
    edited = await store.update_personal_rule(-1001, 2, query="Rubio OR Blinken", now=at(3))
    assert edited is not None
    assert edited.rule_id == "u-100-1"
    deleted = await store.delete_personal_rule(-1001, 3)
    assert deleted is not None
    assert deleted.rule_id == "u-100-2"
    assert await store.delete_personal_rule(-1001, 3) is None
    # the new chat's next rule: its own next number and an id nobody has
    nxt = await store.add_personal_rule(
        -1001, "Japan", "Japan", limit=5, created_by=None, now=at(4)
    )
    assert nxt is not None
    assert (nxt.number, nxt.rule_id) == (3, "u-1001-3")


async def test_a_rule_saved_at_a_migrated_id_gets_an_id_nobody_has(store: SqlStorage) -> None:
    """A late save at the old id (an update handled after the migration) must not take an id
    a moved rule still carries: the numbers in ids made from that chat are skipped."""
    for name in ("Rubio", "EU"):
        await store.add_personal_rule(-100, name, name, limit=5, created_by=None, now=at(0))
    await store.migrate_chat(-100, -1001)
    late = await store.add_personal_rule(-100, "x", "x", limit=5, created_by=None, now=at(1))
    assert late is not None
    assert (late.number, late.rule_id) == (3, "u-100-3")
    assert len({r.rule_id for r in await store.personal_rules()}) == 3


async def test_a_deleted_rules_number_is_never_given_again(store: SqlStorage) -> None:
    """Its id would inherit the deleted rule's stored matches and "not relevant" marks."""
    for name in ("a", "b", "c"):
        await store.add_personal_rule(1, name, name, limit=5, created_by=None, now=at(0))
    assert await store.delete_personal_rule(1, 3)
    assert await store.delete_personal_rule(1, 2)
    again = await store.add_personal_rule(1, "d", "d", limit=5, created_by=None, now=at(1))
    assert again is not None
    assert (again.number, again.rule_id) == (4, "u1-4")
    assert [r.number for r in await store.personal_rules(1)] == [1, 4]
    # the limit counts the rules in force, not the numbers given
    for name in ("e", "f", "g"):
        assert await store.add_personal_rule(1, name, name, limit=5, created_by=None, now=at(2))
    assert await store.add_personal_rule(1, "h", "h", limit=5, created_by=None, now=at(3)) is None
