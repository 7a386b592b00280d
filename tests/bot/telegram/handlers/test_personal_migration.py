"""Personal rules follow their group when it becomes a supergroup (#16), driven as users through
the real PTB against the fake Bot API, over SQLite and PostgreSQL, with the rules in force
really compiled and alerts really sent through the outbox: afterwards the new chat lists,
edits, deletes, promotes and counts the rules, their alerts go to it exactly once, the buttons
of an alert sent before still work, and a replica that has not re-read the personal rules yet
queues their alerts for the new chat too (the ids did not change), also while the migration's
transaction runs; an edit of an old group's message is not carried into the new chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config.feeds_file import FeedsConfig
from bot.delivery.alert_state import AlertStates
from bot.delivery.outbox import OutboxSender
from bot.delivery.telegram_sink import TelegramSink
from bot.personal_rules import PersonalRules
from bot.services import RuleHolder, Services
from core.models import Article
from rules import compile_ruleset
from storage.schema import deliveries
from storage.sql import SqlStorage
from tests.bot.telegram.harness import ADMIN, GROUP, USER, RunningBot, details, running_bot, subs
from tests.fakes.telegram_api import SentMessage

NEW = -1004001  # the supergroup GROUP becomes
SOURCES = {
    "config/rules/main.yaml": (
        "rules:\n"
        "  - id: csp\n"
        "    name: Comprehensive Strategic Partnership\n"
        "    query: '\"strategic partnership\"'\n"
    )
}


@pytest.fixture
async def mrb(database_url: str, tmp_path: Path) -> AsyncIterator[RunningBot]:
    (tmp_path / "rules").mkdir()
    async with running_bot(
        storage=SqlStorage(database_url),
        rule_sources=SOURCES,
        config_dir=tmp_path,
        personal_limit=2,
    ) as running:
        running.tg.add_chat(GROUP, "group", title="Analysts", admins=[USER])
        yield running


async def in_group(rb: RunningBot, text: str, chat_id: int = GROUP) -> SentMessage:
    """``text`` from USER, an administrator, in the group (or the supergroup it became)."""
    kind = "group" if chat_id == GROUP else "supergroup"
    return await rb.ask(text, chat_id, user_id=USER, chat_type=kind)


async def save_two_rules(rb: RunningBot) -> None:
    for query in ("Rubio", "Blinken"):
        preview = await in_group(rb, f"/watch {query}")
        assert await rb.press(preview, "Save as rule") == "Saved"
    assert await subs(rb, GROUP) == {"u-4001-1", "u-4001-2"}


def article(title: str) -> Article:
    return Article(
        feed_url="https://news.example/rss",
        identity=f"guid:{title}",
        title=title,
        link="https://news.example/" + title.lower().replace(" ", "-"),
        content=f"{title}. Talks went on at length.",
    )


async def match_and_store(rb: RunningBot, services: Services, title: str) -> int:
    """What a replica's pipeline does with a new article: match it with the rule set that
    replica has in force and store it (queuing alerts); returns the alerts queued."""
    found = article(title)
    matches = services.rules.current.match(found)
    result = await services.storage.ingest(found, matches, rb.clock.now())
    return int(result.new_deliveries)


async def drain(rb: RunningBot) -> None:
    """Run the outbox until nothing is due (a send answered "migrated" is due again at once,
    under the new id)."""
    sink = TelegramSink(
        rb.application.bot,
        tz=rb.services.settings.tz,
        prefs=rb.services.chat_prefs,
        button_state=AlertStates(rb.services),
    )
    sender = OutboxSender(rb.services, sink)
    for _ in range(5):
        if not await sender.drain_once():
            return
    raise AssertionError("the outbox did not settle")


def alerts(rb: RunningBot, chat_id: int, title: str) -> list[SentMessage]:
    return [m for m in rb.tg.messages(chat_id) if m.text.startswith(title)]


async def test_after_the_service_message_the_supergroup_owns_the_rules(mrb: RunningBot) -> None:
    await save_two_rules(mrb)
    mrb.tg.group_migrates(GROUP, NEW, user_id=USER)
    await mrb.idle()
    listed = await in_group(mrb, "/myrules", NEW)
    assert listed.text.startswith(
        "Personal rules of this chat (2 of 2)\n\n1. Rubio · u-4001-1\nRubio\n\n"
        "2. Blinken · u-4001-2\nBlinken"
    )
    # counted against the new chat's limit
    third = await in_group(mrb, "/watch Lavrov", NEW)
    limit = await mrb.press(third, "Save as rule")
    assert limit.startswith("This chat already has 2 personal rules, the most allowed.")
    # a matching article is alerted in the new chat, once
    assert await match_and_store(mrb, mrb.services, "Rubio visits Hanoi") == 1
    await drain(mrb)
    assert len(alerts(mrb, NEW, "Rubio visits Hanoi")) == 1
    assert alerts(mrb, GROUP, "Rubio visits Hanoi") == []
    # edited and deleted there, by the numbers /myrules shows
    edited = await in_group(mrb, "/myrules edit 1 Rubio OR Lavrov", NEW)
    assert edited.text == "✏️ Rule 1 now reads Rubio OR Lavrov."
    found = mrb.services.rules.current.match(article("Lavrov in Hanoi"))
    assert [m.rule_id for m in found] == ["u-4001-1"]
    assert (await in_group(mrb, "/myrules pause 2", NEW)).text == "⏸ Paused rule 2."
    assert mrb.services.rules.current.get("u-4001-2") is None
    deleted = await in_group(mrb, "/myrules delete 2", NEW)
    assert deleted.text == "🗑 Deleted rule 2."
    assert await subs(mrb, NEW) == {"u-4001-1"}
    assert [r.rule_id for r in await mrb.storage.personal_rules()] == ["u-4001-1"]
    # and the next one saved there is numbered on in the new chat
    preview = await in_group(mrb, "/watch Lavrov", NEW)
    assert await mrb.press(preview, "Save as rule") == "Saved"
    assert "Saved as rule 2 of this chat (u-1004001-2)" in preview.text
    assert await subs(mrb, NEW) == {"u-4001-1", "u-1004001-2"}


async def test_after_a_send_answered_migrated_the_supergroup_owns_the_rules(
    mrb: RunningBot,
) -> None:
    await save_two_rules(mrb)
    mrb.tg.migrate(GROUP, NEW)  # no service message seen: the next send learns it
    assert await match_and_store(mrb, mrb.services, "Blinken visits Hanoi") == 1
    await drain(mrb)
    assert len(alerts(mrb, NEW, "Blinken visits Hanoi")) == 1
    listed = await in_group(mrb, "/myrules", NEW)
    assert "1. Rubio · u-4001-1" in listed.text
    assert "2. Blinken · u-4001-2" in listed.text
    # the list's buttons act on the new chat's rules
    assert await mrb.press(listed, "Pause 1") == "Paused rule 1"
    assert "⏸ paused" in listed.text
    # and the bot's administrators promote them, found by their id wherever they live now
    assert "u-4001-2 Blinken" in (await mrb.ask("/promote", ADMIN)).text
    done = await mrb.ask("/promote u-4001-2 blinken", ADMIN)
    assert done.text.startswith("⬆️ u-4001-2 is now the rule blinken in ")
    assert await subs(mrb, NEW) == {"u-4001-1", "blinken"}
    assert [r.rule_id for r in await mrb.storage.personal_rules(NEW)] == ["u-4001-1"]


async def test_the_buttons_of_an_alert_sent_before_the_migration_still_work(
    mrb: RunningBot,
) -> None:
    await save_two_rules(mrb)
    await match_and_store(mrb, mrb.services, "Rubio visits Hanoi")
    await drain(mrb)
    [alert] = alerts(mrb, GROUP, "Rubio visits Hanoi")
    assert (await mrb.press(alert, "Not relevant")).startswith("Noted")  # still a group
    mrb.tg.group_migrates(GROUP, NEW, user_id=USER)
    await mrb.idle()
    # pressed under the old group's message: acts on the supergroup's subscription
    muted = await mrb.press(alert, "1 h")
    assert muted.startswith("Muted #u_4001_1")
    assert (await details(mrb, NEW))["u-4001-1"].muted_until is not None
    assert "u_4001_2" not in muted  # the other rule did not match this alert
    # (the keyboard says "marked" since the press in the group; "not relevant" pressed again,
    # by its data, in case a client still shows the old keyboard)
    nr = alert.button("1 h")["callback_data"].replace("m1h", "nr")
    noted = await press_data(mrb, alert, nr)
    assert noted.startswith("Noted: not relevant for #u_4001_1.")
    marks = await in_group(mrb, "/feedback", NEW)
    assert "Rubio visits Hanoi" in marks.text  # the supergroup owns the rule now
    # the mark made in the group moved with it: marked again, it is still one mark
    assert [(f.chat_id, f.title) for f in await mrb.storage.feedback(["u-4001-1"])] == [
        (NEW, "Rubio visits Hanoi")
    ]
    assert marks.text.startswith("Marked not relevant (1 mark")
    # muted: a new match is stored but not alerted; unmuting catches it up, in the new chat
    mrb.clock.advance(300)
    assert await match_and_store(mrb, mrb.services, "Rubio again") == 0
    mrb.clock.advance(300)
    # (the fake Bot API refuses to redraw the old group's message, "migrated", logged; so the
    # Unmute button it would show is pressed by its data)
    unmuted = await press_data(
        mrb, alert, alert.button("1 h")["callback_data"].replace("m1h", "um")
    )
    assert unmuted.startswith("Unmuted #u_4001_1: a catch-up message brings the 1 match made")
    await drain(mrb)
    assert [m for m in mrb.tg.messages(GROUP) if "Rubio again" in m.text] == []
    assert len([m for m in mrb.tg.messages(NEW) if "Rubio again" in m.text]) == 1
    # a client that shows the old message as the supergroup's is answered the same way
    shown_in_new = replace(alert, chat_id=NEW)
    assert (await mrb.press(shown_in_new, "1 day")).startswith("Muted #u_4001_1 here for 1 day")


async def press_data(rb: RunningBot, message: SentMessage, data: str) -> str:
    """Press a button with this callback data under ``message``; the toast."""
    query_id = rb.tg.user_presses(data, message, USER)
    await rb.tg.wait_for(
        lambda: any(a["callback_query_id"] == query_id for a in rb.tg.callback_answers),
        what="callback answer",
    )
    return str(
        next(a for a in rb.tg.callback_answers if a["callback_query_id"] == query_id)["text"]
    )


async def stale_replica(rb: RunningBot, database_url: str) -> tuple[Services, PersonalRules]:
    """A second replica over the same database, its rule set compiled from the personal rules
    as it read them now (it re-reads them only every ``FOLLOW_EVERY_S``)."""
    storage = SqlStorage(database_url)
    await storage.open()
    holder = RuleHolder(compile_ruleset(SOURCES))
    services = Services(
        settings=rb.services.settings,
        feeds=FeedsConfig(default_interval_s=300.0, feeds=()),
        storage=storage,
        rules=holder,
        clock=rb.clock,
    )
    personal = PersonalRules(services)

    async def rebuild() -> None:
        holder.swap(compile_ruleset(personal.compose(SOURCES)))

    personal.rebuild = rebuild
    await personal.refresh()
    return services, personal


async def test_a_replica_with_the_old_rule_set_queues_for_the_new_chat(
    mrb: RunningBot, database_url: str
) -> None:
    await save_two_rules(mrb)
    other, other_personal = await stale_replica(mrb, database_url)
    try:
        before = [r.id for r in other.rules.current.rules]
        assert before == ["csp", "u-4001-1", "u-4001-2"]
        mrb.tg.group_migrates(GROUP, NEW, user_id=USER)
        await mrb.idle()
        # the other replica matches first, with what it read before the migration
        assert await match_and_store(mrb, other, "Rubio visits Hanoi") == 1
        # then this one, which handled the migration: the same article, nothing more
        assert await match_and_store(mrb, mrb.services, "Rubio visits Hanoi") == 0
        await drain(mrb)
        assert len(alerts(mrb, NEW, "Rubio visits Hanoi")) == 1
        assert alerts(mrb, GROUP, "Rubio visits Hanoi") == []
        # a new article the other way round: still once, in the new chat
        assert await match_and_store(mrb, mrb.services, "Blinken visits Hanoi") == 1
        assert await match_and_store(mrb, other, "Blinken visits Hanoi") == 0
        await drain(mrb)
        assert len(alerts(mrb, NEW, "Blinken visits Hanoi")) == 1
        # and when it re-reads the personal rules, its rule set keeps the same ids
        await other_personal.refresh()
        assert [r.id for r in other.rules.current.rules] == before
    finally:
        await other.storage.close()


async def test_alerts_matched_while_the_group_migrates_arrive_once_in_the_new_chat(
    mrb: RunningBot, database_url: str
) -> None:
    """The other replica stores matches before, during and after the migration's transaction
    (whatever order the database puts them in): each is alerted once, in the new chat."""
    await save_two_rules(mrb)
    other, _ = await stale_replica(mrb, database_url)
    try:
        assert await match_and_store(mrb, other, "Rubio before") == 1  # queued for the group
        titles = [f"Rubio meanwhile {i}" for i in range(4)]
        mrb.tg.migrate(GROUP, NEW)  # Telegram's side; storage learns it below, concurrently
        await asyncio.gather(
            mrb.storage.migrate_chat(GROUP, NEW),
            *(match_and_store(mrb, other, title) for title in titles),
        )
        assert await match_and_store(mrb, other, "Blinken after") == 1
        await drain(mrb)
        # (one message each, or several folded into one: each story is in one message)
        for title in ("Rubio before", *titles, "Blinken after"):
            assert len([m for m in mrb.tg.messages(NEW) if title in m.text]) == 1, title
            assert [m for m in mrb.tg.messages(GROUP) if title in m.text] == [], title
    finally:
        await other.storage.close()


async def straggler(
    rb: RunningBot,
    article_id: int,
    rule_id: str,
    kind: str = "alert",
    message_id: int | None = None,
) -> None:
    """An alert row for the old id, as an ingest that read the subscriptions just before the
    migration's transaction and committed just after it leaves one (the migration could not
    see it to move it)."""
    now = rb.clock.now()
    async with rb.storage.engine.begin() as conn:
        await conn.execute(
            deliveries.insert().values(
                chat_id=GROUP,
                article_id=article_id,
                rule_ids=f'["{rule_id}"]',
                kind=kind,
                message_id=message_id,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )


async def test_an_alert_queued_for_the_old_id_after_the_migration_arrives_once(
    mrb: RunningBot,
) -> None:
    await save_two_rules(mrb)
    mrb.tg.group_migrates(GROUP, NEW, user_id=USER)
    await mrb.idle()
    # one the new chat has no alert of yet, one it already has
    alone = await mrb.storage.ingest(article("Rubio alone"), [], mrb.clock.now())
    await straggler(mrb, alone.article_id, "u-4001-1")
    both = article("Blinken both")
    assert await match_and_store(mrb, mrb.services, "Blinken both") == 1
    stored = await mrb.storage.ingest(both, [], mrb.clock.now())
    await straggler(mrb, stored.article_id, "u-4001-2")
    # and an edit of a message in the old group: its message id means nothing in the new chat
    edited = await mrb.storage.ingest(article("Rubio edited"), [], mrb.clock.now())
    await straggler(mrb, edited.article_id, "u-4001-1", kind="edit", message_id=1)
    await drain(mrb)  # the old id answers "migrated": the rows move, the duplicate is dropped
    for title in ("Rubio alone", "Blinken both"):
        assert len([m for m in mrb.tg.messages(NEW) if title in m.text]) == 1, title
        assert [m for m in mrb.tg.messages(GROUP) if title in m.text] == [], title
    assert not [m for m in mrb.tg.messages() if "Rubio edited" in m.text]
    assert not [m for m in mrb.tg.messages() if any("Rubio edited" in e for e in m.edits)]
