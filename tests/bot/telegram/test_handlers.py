"""Every command and button, through the real PTB Application polling the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.telegram.handlers import (
    ADMIN_COMMANDS,
    BOT_COMMANDS,
    UsageError,
    parse_digest_schedule,
    parse_mute_duration,
)
from core.errors import StorageError
from core.models import DeliveryMode
from storage.base import Subscription
from tests.bot.telegram.harness import (
    ADMIN,
    OTHER,
    STORAGE_FACTORIES,
    USER,
    RunningBot,
    running_bot,
)
from tests.fakes.memory_storage import MemoryStorage

GROUP = -4001
FORUM = -1004002
CHANNEL = -1004003


@pytest.fixture(params=sorted(STORAGE_FACTORIES))
async def rb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot over each storage: the in-memory fake, and SqlStorage once it is merged."""
    async with running_bot(storage=STORAGE_FACTORIES[request.param](tmp_path)) as running:
        yield running


async def subs(rb: RunningBot, chat_id: int) -> set[str]:
    return set(await rb.storage.subscriptions(chat_id))


async def is_active(rb: RunningBot, chat_id: int) -> bool:
    chat = await rb.storage.get_chat(chat_id)
    assert chat is not None
    return chat.active


async def details(rb: RunningBot, chat_id: int) -> dict[str, Subscription]:
    return {s.rule_id: s for s in await rb.storage.subscription_details(chat_id)}


# start, help, menu ----------------------------------------------------------------------------


async def test_start_says_what_the_bot_does_and_what_next(rb: RunningBot) -> None:
    reply = await rb.ask("/start")
    lines = reply.text.split("\n")
    assert len([line for line in lines[:3] if line]) == 3
    assert lines[-1].startswith("Next: see the rules with /rules")
    chat = await rb.storage.get_chat(USER)
    assert chat is not None
    assert chat.type == "private"


async def test_help_lists_commands_and_admin_ones_only_for_admins(rb: RunningBot) -> None:
    user_help = (await rb.ask("/help")).text
    assert "/subscribe RULE|all [@channel]" in user_help
    assert "/addfeed" not in user_help
    admin_help = (await rb.ask("/help", chat_id=ADMIN)).text
    assert "/addfeed URL" in admin_help


async def test_command_menu_registers_with_telegram(rb: RunningBot) -> None:
    await rb.application.bot.set_my_commands(BOT_COMMANDS)
    names = [c["command"] for c in rb.tg.commands()]
    assert names[:4] == ["start", "help", "rules", "subscribe"]
    assert "addfeed" not in names
    assert {c.command for c in ADMIN_COMMANDS} >= {"addfeed", "stats"}


# rules and buttons ----------------------------------------------------------------------------


async def test_rules_are_paged_with_subscribe_buttons(rb: RunningBot) -> None:
    page = await rb.ask("/rules")
    assert page.text.startswith("Rules (1/2)")
    assert "The law of the sea & disputes <in> the East Sea." in page.text
    labels = [b["text"] for b in page.buttons]
    assert labels[-1] == "Next ▶"
    assert sum(label.startswith("➕ Subscribe") for label in labels) == 5

    assert await rb.press(page, "Next ▶") == ""
    [page] = rb.tg.messages(USER)
    assert page.text.startswith("Rules (2/2)")
    assert [b["text"] for b in page.buttons][-1] == "◀ Previous"

    answer = await rb.press(page, "Subscribe A rule with a very long id")
    assert answer == "Subscribed to A rule with a very long id"
    assert "x" * 70 in await subs(rb, USER)
    [page] = rb.tg.messages(USER)
    assert page.button("Unsubscribe A rule")  # the page was redrawn
    assert "✅ A rule with a very long id" in page.text

    assert (
        await rb.press(page, "Unsubscribe A rule") == "Unsubscribed from A rule with a very long id"
    )
    assert await subs(rb, USER) == set()


async def test_button_for_a_removed_rule_says_so(rb: RunningBot) -> None:
    page = await rb.ask("/rules")
    data = page.button("Subscribe Japan")["callback_data"]
    page.reply_markup = {
        "inline_keyboard": [[{"text": "➕ Subscribe Gone", "callback_data": "s:gone:0"}]]
    }
    assert data.startswith("s:japan")
    assert await rb.press(page, "Subscribe Gone") == "That rule no longer exists."


# subscribe / unsubscribe ----------------------------------------------------------------------


async def test_subscribe_unsubscribe_and_their_mistakes(rb: RunningBot) -> None:
    assert (await rb.ask("/subscribe csp")).text == (
        "✅ Subscribed this chat to Comprehensive Strategic Partnership."
    )
    assert "already subscribed" in (await rb.ask("/subscribe CSP")).text
    wrong = (await rb.ask("/subscribe cps")).text
    assert wrong == (
        "❌ There is no rule called “cps”. Did you mean csp? See /rules for the list.\n"
        "Usage: /subscribe RULE|all [@channel]"
    )
    assert (await rb.ask("/subscribe")).text.startswith("❌ Say which rule")
    assert (await rb.ask("/subscribe csp japan")).text.startswith("❌ Give one rule id")
    assert (await rb.ask("/unsubscribe csp")).text == (
        "✅ Unsubscribed this chat from Comprehensive Strategic Partnership."
    )
    assert (await rb.ask("/unsubscribe csp")).text.startswith("This chat was not subscribed")
    assert await subs(rb, USER) == set()


async def test_subscribe_all_and_unsubscribe_all(rb: RunningBot) -> None:
    reply = (await rb.ask("/subscribe all")).text
    assert reply.startswith("✅ Subscribed this chat to 7 rules: #asean #csp")
    assert len(await subs(rb, USER)) == 7
    assert "Nothing to change" in (await rb.ask("/subscribe all")).text
    assert (await rb.ask("/unsubscribe all")).text.startswith("✅ Unsubscribed this chat from 7")
    assert await subs(rb, USER) == set()


async def test_list_shows_modes_topics_and_mute(rb: RunningBot) -> None:
    assert "no subscriptions yet" in (await rb.ask("/list")).text
    await rb.ask("/subscribe csp")
    await rb.ask("/subscribe unclos")
    await rb.ask("/digest unclos daily 08:00")
    await rb.ask("/mute 2h")
    text = (await rb.ask("/list")).text
    assert "#csp — Comprehensive Strategic Partnership · instant" in text
    assert "#unclos — UNCLOS / East Sea · digest, daily 08:00" in text
    assert "🔕 Muted until 11 Jul 2025 21:00 +07" in text


# mute, digest ---------------------------------------------------------------------------------


async def test_mute_and_unmute(rb: RunningBot) -> None:
    await rb.ask("/subscribe csp")
    reply = (await rb.ask("/mute 1h30m")).text
    assert reply.startswith("🔕 Muted this chat until 11 Jul 2025 20:30 +07")
    until = (await details(rb, USER))["csp"].muted_until
    assert until == rb.clock.now() + timedelta(minutes=90)
    assert (await rb.ask("/mute soon")).text == (
        "❌ “soon” is not a duration. Give a number and a unit: 30m, 2h, 1d, 1w.\n"
        "Usage: /mute DURATION (e.g. 30m, 2h, 1d)"
    )
    assert "at most 365 days" in (await rb.ask("/mute 400d")).text
    assert (await rb.ask("/unmute")).text == "🔔 Alerts for this chat are on again."
    assert (await details(rb, USER))["csp"].muted_until is None


async def test_digest_modes(rb: RunningBot) -> None:
    assert "Subscribe first" in (await rb.ask("/digest csp hourly")).text
    await rb.ask("/subscribe csp")
    assert "one digest every hour" in (await rb.ask("/digest csp hourly")).text
    assert (await details(rb, USER))["csp"].digest_schedule == "hourly"
    reply = (await rb.ask("/digest all daily 7:30")).text
    assert "every day at 07:30 (Asia/Ho_Chi_Minh)" in reply
    assert (await details(rb, USER))["csp"].mode is DeliveryMode.DIGEST
    assert "as stories appear" in (await rb.ask("/digest csp off")).text
    assert (await details(rb, USER))["csp"].mode is DeliveryMode.INSTANT
    assert (await rb.ask("/digest csp weekly")).text.startswith("❌ “weekly” is not a schedule")
    assert "needs a time" in (await rb.ask("/digest csp daily")).text
    assert "not a time of day" in (await rb.ask("/digest csp daily 25:00")).text
    assert "no rule called" in (await rb.ask("/digest nope hourly")).text
    assert (await rb.ask("/digest")).text.startswith("❌ Say which rule and how often.")


def test_duration_and_schedule_parsers() -> None:
    assert parse_mute_duration("1w") == timedelta(weeks=1)
    assert parse_mute_duration("2h 15m") == timedelta(hours=2, minutes=15)
    for bad in ("", "10", "h", "-1h", "0m", "1y"):
        with pytest.raises(UsageError):
            parse_mute_duration(bad)
    assert parse_digest_schedule(["daily", "8:05"]) == "daily 08:05"
    assert parse_digest_schedule(["off"]) is None
    with pytest.raises(UsageError):
        parse_digest_schedule(["hourly", "08:00"])


# recent, search, status -----------------------------------------------------------------------


async def seed(rb: RunningBot) -> None:
    await rb.ingest("Vietnam <and> US deepen CSP", "csp")
    await rb.ingest("East Sea & UNCLOS talks", "unclos", minutes=1)


async def test_recent(rb: RunningBot) -> None:
    await seed(rb)
    assert "no subscriptions" in (await rb.ask("/recent")).text
    reply = await rb.ask("/recent csp")
    assert (
        reply.text == "Latest matches for #csp\n• Vietnam <and> US deepen CSP — #csp · 11 Jul 17:00"
    )
    links = [e["url"] for e in reply.entities if e["type"] == "text_link"]
    assert links == ["https://news.example/vietnam-and-us-deepen-csp"]
    await rb.ask("/subscribe unclos")
    assert "East Sea & UNCLOS talks" in (await rb.ask("/recent")).text
    assert "no rule called" in (await rb.ask("/recent nope")).text
    assert "at most one rule" in (await rb.ask("/recent a b")).text
    assert (await rb.ask("/recent japan")).text == "Latest matches for #japan: none yet."


async def test_search(rb: RunningBot) -> None:
    await seed(rb)
    assert (await rb.ask("/search")).text.startswith("❌ Give at least one word")
    reply = (await rb.ask("/search strategic partnership")).text
    assert reply.startswith("Articles with “strategic partnership”")
    assert "• Vietnam <and> US deepen CSP · 11 Jul 2025" in reply
    assert (await rb.ask("/search zebra")).text == "No stored article contains “zebra”."


async def test_status(rb: RunningBot) -> None:
    await rb.add_feed("https://a.example/rss")
    await rb.add_feed("https://b.example/rss", disabled_reason="410 Gone")
    await rb.ask("/subscribe csp")
    for i in range(3):
        await rb.ingest(f"Story {i}", "csp")
    text = (await rb.ask("/status")).text
    assert text == (
        "👀 Watching 1 feed with 7 rules.\nThis chat: 1 subscription, 3 alerts waiting to be sent."
    )
    assert "Scheduler: 3 feeds due" in (await rb.ask("/status", chat_id=ADMIN)).text


# admin ----------------------------------------------------------------------------------------


async def test_admin_commands_refuse_non_admins(rb: RunningBot) -> None:
    for command in (
        "/feeds",
        "/addfeed https://x.example/rss",
        "/removefeed x",
        "/reload",
        "/stats",
    ):
        assert (await rb.ask(command)).text == "❌ That command is for the bot's administrators."
    assert rb.admin_actions.calls == []


async def test_feeds_lists_health(rb: RunningBot) -> None:
    assert "No feeds configured" in (await rb.ask("/feeds", chat_id=ADMIN)).text
    await rb.add_feed(
        "https://a.example/rss",
        name="A <News>",
        last_success_at=datetime(2025, 7, 11, 11, 0, tzinfo=UTC),
        items_seen=12,
    )
    await rb.add_feed("https://b.example/rss", consecutive_errors=3, last_error="HTTP 503")
    await rb.add_feed("https://c.example/rss", disabled_reason="410 Gone")
    text = (await rb.ask("/feeds", chat_id=ADMIN)).text
    assert (
        "✅ A <News> — https://a.example/rss\n   last fetched 11 Jul 18:00, 12 items seen" in text
    )
    assert "⚠️ https://b.example/rss — https://b.example/rss\n   3 errors in a row: HTTP 503" in text
    assert "⛔ https://c.example/rss — https://c.example/rss\n   disabled: 410 Gone" in text


async def test_addfeed_removefeed_reload(rb: RunningBot) -> None:
    bad = (await rb.ask("/addfeed ftp://x", chat_id=ADMIN)).text
    assert bad == ("❌ Give one feed address starting with http(s)://.\nUsage: /addfeed URL")
    ok = (await rb.ask("/addfeed https://x.example/rss", chat_id=ADMIN)).text
    assert ok == "Added https://x.example/rss; first poll in a moment."
    rb.admin_actions.fail = "https://y.example/rss: not a feed (got an HTML page)"
    failed = (await rb.ask("/addfeed https://y.example/rss", chat_id=ADMIN)).text
    assert failed == "❌ https://y.example/rss: not a feed (got an HTML page)"
    assert (await rb.ask("/removefeed https://x.example/rss", chat_id=ADMIN)).text == (
        "Removed https://x.example/rss."
    )
    assert (await rb.ask("/reload", chat_id=ADMIN)).text == "Reloaded 7 rules from 1 file."
    assert [c[0] for c in rb.admin_actions.calls] == [
        "add_feed",
        "add_feed",
        "remove_feed",
        "reload_rules",
    ]


async def test_admin_actions_missing_is_said_plainly() -> None:
    async with running_bot(with_admin_actions=False) as rb:
        text = (await rb.ask("/reload", chat_id=ADMIN)).text
        assert text == "❌ Reloading is not available in this setup."


async def test_stats(rb: RunningBot) -> None:
    await rb.ask("/subscribe all")
    await seed(rb)
    text = (await rb.ask("/stats", chat_id=ADMIN)).text
    assert "#csp: 1 (1)" in text
    assert "#unclos: 1 (1)" in text
    assert "Outbox: 2 alerts waiting." in text


# groups, topics, channels ---------------------------------------------------------------------


async def test_group_subscriptions_need_a_group_admin(rb: RunningBot) -> None:
    rb.tg.add_chat(GROUP, "group", title="Analysts", admins=[ADMIN + 1])
    bot = rb.tg.bot_username
    refused = await rb.ask(f"/subscribe@{bot} csp", GROUP, user_id=OTHER, chat_type="group")
    assert refused.text == "❌ Only this group's administrators can change its alerts."
    assert await subs(rb, GROUP) == set()
    ok = await rb.ask(f"/subscribe@{bot} csp", GROUP, user_id=ADMIN + 1, chat_type="group")
    assert ok.text.startswith("✅ Subscribed this chat to")
    # everyone may read
    listed = await rb.ask("/list", GROUP, user_id=OTHER, chat_type="group")
    assert "#csp" in listed.text
    # buttons obey the same rule
    page = await rb.ask("/rules", GROUP, user_id=OTHER, chat_type="group")
    answer = await rb.press(page, "Subscribe Japan", user_id=OTHER)
    assert answer == "Only this group's administrators can change its alerts."
    assert await rb.press(page, "Subscribe Japan", user_id=ADMIN + 1) == "Subscribed to Japan"
    assert await subs(rb, GROUP) == {"csp", "japan"}


async def test_forum_topic_subscription_remembers_the_topic(rb: RunningBot) -> None:
    rb.tg.add_chat(FORUM, "supergroup", title="Desk", is_forum=True, admins=[USER])
    reply = await rb.ask("/subscribe unclos", FORUM, user_id=USER, thread_id=17)
    assert reply.message_thread_id == 17
    assert reply.text.endswith("(alerts go to this topic).")
    assert (await details(rb, FORUM))["unclos"].thread_id == 17
    listed = await rb.ask("/list", FORUM, user_id=USER, thread_id=17)
    assert "#unclos — UNCLOS / East Sea · instant, topic 17" in listed.text


async def test_channel_is_managed_from_a_private_chat(rb: RunningBot) -> None:
    rb.tg.add_chat(CHANNEL, "channel", title="News Desk", username="newsdesk", admins=[USER])
    not_yet = (await rb.ask("/subscribe csp @newsdesk")).text
    assert not_yet.startswith("❌ I cannot post in @newsdesk yet")
    rb.tg.add_chat(CHANNEL, "channel", bot_is_admin=True)
    assert (await rb.ask("/subscribe csp @newsdesk")).text == (
        "✅ Subscribed News Desk to Comprehensive Strategic Partnership."
    )
    assert await subs(rb, CHANNEL) == {"csp"}
    channel = await rb.storage.get_chat(CHANNEL)
    assert channel is not None
    assert channel.type == "channel"
    assert "#csp" in (await rb.ask("/list @newsdesk")).text
    assert await subs(rb, USER) == set()
    refused = await rb.ask("/subscribe csp @newsdesk", chat_id=OTHER)
    assert refused.text == "❌ Only administrators of @newsdesk can do that."
    unknown = (await rb.ask("/subscribe csp @nosuchchannel")).text
    assert unknown.startswith("❌ I cannot see @nosuchchannel")
    assert (await rb.ask(f"/unsubscribe csp {CHANNEL}")).text == (
        "✅ Unsubscribed News Desk from Comprehensive Strategic Partnership."
    )
    rb.tg.add_chat(GROUP, "group", admins=[USER])
    in_group = await rb.ask("/subscribe csp @newsdesk", GROUP, user_id=USER, chat_type="group")
    assert in_group.text.startswith("❌ Manage a channel from your private chat with me.")


# membership, migration ------------------------------------------------------------------------


async def test_blocking_and_unblocking_pause_and_resume_the_chat(rb: RunningBot) -> None:
    await rb.ask("/start")
    rb.tg.user_blocks_bot(USER)
    await rb.idle()  # updates are handled in order: the block was handled before /status
    assert not await is_active(rb, USER)
    rb.tg.user_unblocks_bot(USER)
    await rb.idle()
    assert await is_active(rb, USER)


async def test_group_migration_moves_the_subscriptions(rb: RunningBot) -> None:
    rb.tg.add_chat(GROUP, "group", title="Analysts", admins=[USER])
    await rb.ask("/subscribe csp", GROUP, user_id=USER, chat_type="group")
    rb.tg.group_migrates(GROUP, -1009999, user_id=USER)
    await rb.idle()
    assert await subs(rb, -1009999) == {"csp"}
    assert await subs(rb, GROUP) == set()


# access control, unknown commands, errors -----------------------------------------------------


async def test_strangers_get_a_polite_refusal_and_no_data() -> None:
    async with running_bot(allowed_ids=[USER, GROUP]) as rb:
        await rb.ask("/subscribe csp")
        for command in ("/start", "/list", "/recent csp", "/rules"):
            reply = await rb.ask(command, chat_id=OTHER)
            assert reply.text == (
                "Sorry, this is a private bot. If you should have access, ask its operator to "
                f"add your Telegram ID ({OTHER}) to the allowlist."
            )
        assert await rb.storage.get_chat(OTHER) is None
        # an allowlisted group is open to its members
        rb.tg.add_chat(GROUP, "group", admins=[OTHER])
        member = await rb.ask("/list", GROUP, user_id=OTHER, chat_type="group")
        assert "no subscriptions yet" in member.text
        # a stranger pressing a button in a group that is not on the list
        rb.tg.add_chat(-777, "group", admins=[OTHER + 1])
        page = await rb.ask("/rules", -777, user_id=ADMIN, chat_type="group")
        answer = await rb.press(page, "Subscribe Japan", user_id=OTHER + 1)
        assert await subs(rb, -777) == set()
        assert answer.startswith("Sorry, this is a private bot.")


async def test_unknown_commands(rb: RunningBot) -> None:
    assert (await rb.ask("/frobnicate now")).text == (
        "❌ I don't know /frobnicate. /help lists what I can do."
    )
    rb.tg.add_chat(GROUP, "group")
    rb.tg.user_sends("/otherbots_command", GROUP, OTHER, "group")
    rb.tg.user_sends("/frobnicate@some_other_bot", GROUP, OTHER, "group")
    reply = await rb.ask("/list", GROUP, user_id=OTHER, chat_type="group")
    assert "no subscriptions" in reply.text  # and nothing was said about the others' commands
    assert len(rb.tg.messages(GROUP)) == 1
    mine = await rb.ask(
        f"/frobnicate@{rb.tg.bot_username}", GROUP, user_id=OTHER, chat_type="group"
    )
    assert mine.text.startswith("❌ I don't know /frobnicate@")


class BrokenStorage(MemoryStorage):
    async def subscriptions(self, chat_id: int) -> list[str]:
        raise StorageError("database is locked")


async def test_storage_failure_is_reported_not_swallowed() -> None:
    async with running_bot(storage=BrokenStorage()) as rb:
        reply = await rb.ask("/rules")
        assert (
            reply.text == "⚠️ The database is unavailable right now; please try again in a minute."
        )


async def test_no_rules_loaded_is_said_plainly() -> None:
    async with running_bot(rules=()) as rb:
        assert (await rb.ask("/rules")).text == (
            "No rules are loaded yet. An administrator adds them in config/rules/."
        )
        assert "no rule called" in (await rb.ask("/subscribe csp")).text
        assert "Nothing to change" in (await rb.ask("/subscribe all")).text
