"""The administrators' commands: /feeds, /addfeed, /removefeed, /reload, /stats."""

from __future__ import annotations

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
