"""/recent, /search and /status."""

from __future__ import annotations

from typing import Any

from tests.bot.telegram.harness import ADMIN, USER, RunningBot, seed


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The text an entity covers (Telegram counts offsets in UTF-16 units)."""
    units = text.encode("utf-16-le")
    start, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
    return units[start:end].decode("utf-16-le")


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
    assert (await rb.ask("/search")).text.startswith("❌ Give a query")
    reply = await rb.ask('/search "strategic partnership" AND (UNCLOS OR CSP)')
    assert reply.text.startswith('🔎 "strategic partnership" AND (UNCLOS OR CSP): 2 stories\n')
    assert "• Vietnam <and> US deepen CSP\nnews.example · 11 Jul 2025" in reply.text
    # the matched words in bold, the title a link
    bold = [entity_text(reply.text, e) for e in reply.entities if e["type"] == "bold"]
    assert "strategic partnership" in bold
    assert [b["text"] for b in reply.buttons] == ["💾 Save as rule"]  # #16, test_personal
    zebra = await rb.ask("/search zebra")
    assert zebra.text == "No stored story matches zebra (2 stories searched)."
    title_only = await rb.ask("/search title:UNCLOS")
    assert title_only.text.startswith("🔎 title:UNCLOS: 1 story\n")


async def test_a_bad_search_query_gets_the_rule_error_with_a_caret(rb: RunningBot) -> None:
    reply = await rb.ask('/search "strategic partnership" AND (Rubio OR')
    assert reply.text.startswith(
        "❌ That query is not valid (column 38): the query ends where a word was expected."
    )
    pre = next(e for e in reply.entities if e["type"] == "pre")
    block = entity_text(reply.text, pre)
    query_line, caret_line = block.split("\n")
    assert query_line == '"strategic partnership" AND (Rubio OR'
    assert caret_line == " " * 37 + "^"  # just after the last character
    assert "Hint: finish the expression" in reply.text
    assert "unknown field 'bogus'" in (await rb.ask("/search bogus:x")).text
    assert "NEAR/5" in (await rb.ask("/search Rubio NEAR/x Blinken")).text
    assert "regular expression" in (await rb.ask("/search /(unclosed/")).text


async def test_search_pages_with_buttons(rb: RunningBot) -> None:
    for i in range(12):
        await rb.ingest(f"Partnership story {i:02d}", "csp", minutes=i)
    first = await rb.ask("/search comprehensive")
    assert first.text.startswith("🔎 comprehensive: 12 stories (page 1/3)")
    assert [b["text"] for b in first.buttons] == ["Older ▶", "💾 Save as rule"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in first.buttons)
    await rb.press(first, "Older")
    await rb.tg.wait_for(lambda: bool(rb.tg.messages(USER)[-1].edits), what="page 2")
    page2 = rb.tg.messages(USER)[-1]
    assert "(page 2/3)" in page2.edits[-1]
    stale = rb.tg.user_presses("sr:999:1", page2, USER)
    await rb.tg.wait_for(
        lambda: any(a["callback_query_id"] == stale for a in rb.tg.callback_answers),
        what="expired answer",
    )
    answer = next(a for a in rb.tg.callback_answers if a["callback_query_id"] == stale)
    assert answer["text"] == "This search has expired; send /search again."


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
