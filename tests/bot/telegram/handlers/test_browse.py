"""/recent, /search and /status."""

from __future__ import annotations

from tests.bot.telegram.harness import ADMIN, USER, RunningBot, seed


async def test_recent(rb: RunningBot) -> None:
    await seed(rb)
    assert "no subscriptions" in (await rb.ask("/recent")).text
    reply = await rb.ask("/recent csp")
    assert reply.text == (
        "Latest matches for #csp\n"
        "• Vietnam <and> US deepen CSP — #csp · news.example · 11 Jul 17:00"
    )
    links = [e["url"] for e in reply.entities if e["type"] == "text_link"]
    assert links == ["https://news.example/vietnam-and-us-deepen-csp"]
    await rb.ask("/subscribe unclos")
    assert "East Sea & UNCLOS talks" in (await rb.ask("/recent")).text
    assert "no rule called" in (await rb.ask("/recent nope")).text
    assert "at most one rule" in (await rb.ask("/recent a b")).text
    assert (await rb.ask("/recent japan")).text == "Latest matches for #japan: none yet."


async def test_recent_lists_each_story_once_with_its_tags_source_and_more(rb: RunningBot) -> None:
    # Issue #16: a story matched by two rules was listed twice.
    await rb.add_feed("https://news.example/rss", name="Example Wire")
    await rb.ask("/subscribe csp")
    await rb.ask("/subscribe unclos")
    await rb.ingest("Both rules", "csp", also=["unclos"])
    reply = await rb.ask("/recent")
    assert reply.text == (
        "Latest matches for your rules\n• Both rules — #csp #unclos · Example Wire · 11 Jul 17:00"
    )
    assert reply.buttons == []
    for i in range(12):
        await rb.ingest(f"Story {i:02d}", "csp", minutes=i + 1)
    first = await rb.ask("/recent")
    assert first.text.count("• ") == 10
    assert "Story 11" in first.text
    assert "Story 02" in first.text
    assert "Story 01" not in first.text
    more = first.button("More")
    assert len(more["callback_data"].encode()) <= 64
    before = len(rb.tg.messages(USER))
    await rb.press(first, "More")
    [second] = (await rb.tg.wait_for_messages(before + 1, chat_id=USER))[before:]
    assert second.text.startswith("Latest matches for your rules (page 2)")
    for title in ("Story 01", "Story 00", "Both rules"):
        assert title in second.text
    assert second.buttons == []


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
