"""The administrators' commands: /feeds, /addfeed, /removefeed, /reload, /stats."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from tests.bot.telegram.harness import ADMIN, RunningBot, running_bot, seed


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
        "✅ A <News> — https://a.example/rss\n   last fetched 11 Jul 18:00, items seen: 12" in text
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


async def test_feeds_are_numbered_with_pause_resume_and_remove_buttons(rb: RunningBot) -> None:
    await rb.add_feed("https://a.example/rss", name="A")
    await rb.add_feed("https://b.example/rss", enabled=False)
    page = await rb.ask("/feeds", chat_id=ADMIN)
    assert page.text.startswith("Feeds (2)\n1. ✅ A — https://a.example/rss")
    assert "\n2. ⛔ https://b.example/rss" in page.text
    assert [b["text"] for b in page.buttons] == [
        "⏸ Pause 1",
        "🗑 Remove 1",
        "▶ Resume 2",
        "🗑 Remove 2",
    ]
    assert all(len(b["callback_data"].encode()) <= 64 for b in page.buttons)
    assert await rb.press(page, "Pause 1", user_id=ADMIN) == "Paused https://a.example/rss."
    assert await rb.press(page, "Resume 2", user_id=ADMIN) == "Resumed https://b.example/rss."
    assert await rb.press(page, "Remove 2", user_id=ADMIN) == "Press again to remove it"
    assert [b["text"] for b in page.buttons][-2:] == ["❗ Really remove 2", "Keep it"]
    assert await rb.press(page, "Keep it", user_id=ADMIN) == "Kept"
    assert await rb.press(page, "Remove 2", user_id=ADMIN) == "Press again to remove it"
    assert (
        await rb.press(page, "Really remove 2", user_id=ADMIN) == "Removed https://b.example/rss."
    )
    assert rb.admin_actions.calls == [
        ("set_feed_enabled", "https://a.example/rss False"),
        ("set_feed_enabled", "https://b.example/rss True"),
        ("remove_feed", "https://b.example/rss"),
    ]
    # only admins; a list that changed refuses the press
    assert "Only the bot's administrators" in await rb.press(page, "Pause 1")
    rb.feeds = rb.feeds[1:]  # feed 1 goes: number 1 is another feed now
    await rb.storage.sync_feeds(rb.feeds, rb.clock.now())
    assert await rb.press(page, "Pause 1", user_id=ADMIN) == (
        "The feed list changed; send /feeds again."
    )
    assert len(rb.admin_actions.calls) == 3


async def test_feeds_says_a_new_feed_had_its_first_poll_until_its_next_story(
    rb: RunningBot,
) -> None:
    await rb.add_feed(
        "https://a.example/rss",
        first_poll_done=True,
        items_seen=23,
        last_success_at=datetime(2025, 7, 11, 11, 0, tzinfo=UTC),
        last_new_item_at=datetime(2025, 7, 11, 11, 0, tzinfo=UTC),
    )
    text = (await rb.ask("/feeds", chat_id=ADMIN)).text
    assert (
        "items seen: 23\n   first poll: 23 existing items recorded; alerts start with the next "
        "new story (NEWSWATCH_ALERT_ON_FIRST_POLL=true alerts on them too)"
    ) in text
    stored = await rb.storage.get_feed("https://a.example/rss")
    await rb.storage.save_feed_state(dataclasses.replace(stored, avg_new_item_interval_s=600.0))
    assert "first poll" not in (await rb.ask("/feeds", chat_id=ADMIN)).text
