"""The buttons under every alert, pressed as a user: alerts really go out through the outbox and
TelegramSink (over SQLite: the outbox rows are what the buttons read back), into the fake Bot
API, which refuses callback data over 64 bytes as Telegram does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.alert_state import AlertStates
from bot.delivery.outbox import OutboxSender
from bot.delivery.telegram_sink import TelegramSink
from core.models import Article, Hit, RuleMatch, StoryPlacement
from storage.sql import SqlStorage
from tests.bot.telegram.harness import (
    ADMIN,
    GROUP,
    OTHER,
    PUBLISHED,
    USER,
    RunningBot,
    running_bot,
    subs,
)
from tests.fakes.telegram_api import SentMessage

SOURCES = {
    "main.yaml": (
        "rules:\n"
        "  - id: csp\n"
        "    name: Comprehensive Strategic Partnership\n"
        "    query: '\"strategic partnership\"'\n"
    )
}


@pytest.fixture
async def srb(tmp_path: Path) -> AsyncIterator[RunningBot]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}")
    async with running_bot(storage=storage, rule_sources=SOURCES) as running:
        yield running


async def send_queued(rb: RunningBot, chat_id: int = USER, expect: int = 1) -> list[SentMessage]:
    """Run the outbox once and return the ``expect`` new messages in ``chat_id``."""
    before = len(rb.tg.messages(chat_id))
    sink = TelegramSink(  # as the app wires it: an alert's edit keeps its keyboard's state
        rb.application.bot,
        tz=rb.services.settings.tz,
        prefs=rb.services.chat_prefs,
        button_state=AlertStates(rb.services),
    )
    await OutboxSender(rb.services, sink).drain_once()
    return (await rb.tg.wait_for_messages(before + expect, chat_id=chat_id))[before:]


def labels(message: SentMessage) -> list[str]:
    return [b["text"] for b in message.buttons]


async def test_every_alert_has_its_buttons_within_64_bytes(srb: RunningBot) -> None:
    await srb.ask("/subscribe csp")
    await srb.ingest("Vietnam and US deepen ties", "csp")
    [alert] = await send_queued(srb)
    assert labels(alert) == [
        "🔕 1 h",
        "🔕 1 day",
        "🔕 until unmuted",
        "🚫 Unsubscribe",
        "👎 Not relevant",
        "🔗 Open source",
    ]
    assert alert.button("Open source")["url"] == "https://news.example/vietnam-and-us-deepen-ties"
    assert all(len(b.get("callback_data", "").encode()) <= 64 for b in alert.buttons)


async def test_mute_one_rule_then_unmute_with_one_catch_up(srb: RunningBot) -> None:
    await srb.ask("/subscribe csp")
    await srb.ingest("First story", "csp")
    [alert] = await send_queued(srb)
    toast = await srb.press(alert, "1 h")
    assert toast == "Muted #csp here for 1 h; other rules still alert."
    assert labels(alert) == [
        "🔕 Muted here (until 20:00)",
        "🔔 Unmute",
        "👎 Not relevant",
        "🔗 Open source",
    ]
    await srb.ingest("While muted 1", "csp", minutes=5)
    await srb.ingest("While muted 2", "csp", minutes=6)
    assert await srb.storage.pending_count(USER) == 0  # stored, not alerted
    srb.clock.advance(600)
    toast = await srb.press(alert, "Unmute")
    assert toast == (
        "Unmuted #csp: a catch-up message brings the 2 matches made while it was muted."
    )
    assert labels(alert)[0] == "🔕 1 h"
    [digest] = await send_queued(srb)
    assert digest.text.startswith("🔔 Catch-up: 2 matches while muted")
    assert "While muted 1" in digest.text
    assert "While muted 2" in digest.text
    # a second unmute has nothing to catch up
    assert await srb.press(alert, "1 day") == "Muted #csp here for 1 day; other rules still alert."
    assert labels(alert)[0] == "🔕 Muted here (until 12 Jul 19:10)"  # tomorrow: with its date
    assert await srb.press(alert, "Unmute") == "Unmuted #csp: nothing matched while it was muted."
    assert await srb.press(alert, "until unmuted") == (
        "Muted #csp here until unmuted; other rules still alert."
    )
    assert labels(alert)[0] == "🔕 Muted here (until unmuted)"


async def test_unsubscribe_and_subscribe_again(srb: RunningBot) -> None:
    await srb.ask("/subscribe csp")
    await srb.ingest("First story", "csp")
    [alert] = await send_queued(srb)
    assert await srb.press(alert, "Unsubscribe") == "Unsubscribed from #csp."
    assert await subs(srb, USER) == set()
    assert labels(alert)[:2] == ["🚫 Unsubscribed", "↩ Subscribe again"]
    assert await srb.press(alert, "Unsubscribed") == "Already done."
    assert await srb.press(alert, "Subscribe again") == "Subscribed again to #csp."
    assert await subs(srb, USER) == {"csp"}


async def test_not_relevant_is_kept_and_listed_for_the_rules_owner(srb: RunningBot) -> None:
    await srb.ask("/subscribe csp")
    await srb.ingest("Off-topic story", "csp")
    [alert] = await send_queued(srb)
    toast = await srb.press(alert, "Not relevant")
    assert toast.startswith("Noted: not relevant for #csp.")
    assert "✔ Marked not relevant" in labels(alert)
    [mark] = await srb.storage.feedback(["csp"])
    assert (mark.chat_id, mark.title, mark.user_id) == (USER, "Off-topic story", USER)
    # the owner of a file rule is the bot's administrators
    listed = await srb.ask("/feedback", ADMIN)
    assert listed.text.startswith("Marked not relevant (1 mark, every rule)\n• #csp · Off-topic")
    assert "No story was marked" in (await srb.ask("/feedback")).text


async def test_a_personal_rule_alerts_its_chat_with_buttons(srb: RunningBot) -> None:
    preview = await srb.ask("/watch Blinken")
    assert await srb.press(preview, "Save as rule") == "Saved"
    await srb.ingest("Blinken in Hanoi", "u1001-1")  # as the pipeline stores a match
    [alert] = await send_queued(srb)
    assert "Blinken in Hanoi" in alert.text
    assert await srb.press(alert, "Not relevant")
    listed = await srb.ask("/feedback")
    assert "Blinken in Hanoi" in listed.text  # the chat owns its personal rule
    assert "No story was marked" in (await srb.ask("/feedback", OTHER)).text


async def test_bad_presses(srb: RunningBot) -> None:
    srb.tg.add_chat(GROUP, "group", title="Analysts", admins=[ADMIN + 1])
    await srb.storage.subscribe(GROUP, "csp")
    await srb.ingest("Group story", "csp")
    [alert] = await send_queued(srb, GROUP)
    refused = await srb.press(alert, "1 h", user_id=OTHER)
    assert refused == "Only this group's administrators can change its alerts."
    assert (await srb.press(alert, "Not relevant", user_id=OTHER)).startswith("Noted")
    assert (await srb.press(alert, "1 h", user_id=ADMIN + 1)).startswith("Muted #csp")
    # a forged or stale button: another chat's alert, a pruned one, nonsense
    for data in ("al:m1h:999", "al:zz:1", "al:m1h:x"):
        query_id = srb.tg.user_presses(data, alert, OTHER)

        def answered(q: str = query_id) -> bool:
            return any(a["callback_query_id"] == q for a in srb.tg.callback_answers)

        await srb.tg.wait_for(answered, what="callback answer")
    answers = [str(a["text"]) for a in srb.tg.callback_answers[-3:]]
    assert answers[0].startswith("This alert is too old")
    assert answers[1:] == ["This button is no longer supported."] * 2


async def report(
    rb: RunningBot, outlet: str, *, title: str = "Vietnam and US upgrade ties"
) -> None:
    """``outlet``'s report of the one story "s1" (the same article again when ``outlet`` was
    seen: a changed title is an update of it), matched by #csp."""
    article = Article(
        feed_url=f"https://{outlet}/rss",
        identity=f"guid:{outlet}",
        title=title,
        link=f"https://{outlet}/ties",
        summary="The comprehensive strategic partnership was discussed at length.",
        published_at=PUBLISHED,
        feed_name=outlet,
    )
    hits = (Hit("comprehensive", "summary", 4, 17),)
    placement = StoryPlacement("s1", '{"reason": "test", "score": 0.5}', frozenset())
    await rb.storage.ingest_many(
        [(article, [RuleMatch("csp", hits)])], rb.clock.now(), stories=[placement]
    )


async def test_an_edit_of_the_alert_redraws_its_keyboard_as_it_stands(srb: RunningBot) -> None:
    """#16: a story's second source edits its alert; a mute pressed meanwhile stays shown
    (Telegram drops a keyboard an edit does not repeat, so the edit repeats the current one)."""
    await srb.ask("/subscribe csp")
    await report(srb, "vna.example")
    [alert] = await send_queued(srb)
    await report(srb, "vietnamnet.example")  # the sources edit is queued
    assert (await srb.press(alert, "1 h")).startswith("Muted #csp")
    muted = labels(alert)
    assert muted[:2] == ["🔕 Muted here (until 20:00)", "🔔 Unmute"]
    await send_queued(srb, expect=0)
    assert alert.edits, "the alert was edited in place"
    assert alert.text.splitlines()[-1] == "📰 2 sources: vna.example, vietnamnet.example"
    assert labels(alert) == muted
    # Unsubscribed, then the first outlet updates its article: the edit says unsubscribed.
    await srb.press(alert, "Unmute")
    assert await srb.press(alert, "Unsubscribe") == "Unsubscribed from #csp."
    await report(srb, "vna.example", title="Vietnam and US upgrade ties, updated")
    await send_queued(srb, expect=0)
    assert alert.text.startswith("Vietnam and US upgrade ties, updated")
    assert labels(alert)[:2] == ["🚫 Unsubscribed", "↩ Subscribe again"]
    # and with nothing pressed, the default keyboard
    assert await srb.press(alert, "Subscribe again") == "Subscribed again to #csp."
    await report(srb, "vna.example", title="Vietnam and US upgrade ties, again")
    await send_queued(srb, expect=0)
    assert labels(alert)[:4] == ["🔕 1 h", "🔕 1 day", "🔕 until unmuted", "🚫 Unsubscribe"]
