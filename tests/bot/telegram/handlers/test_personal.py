"""Rules from the chat: /watch (preview, save, refine, cancel), /myrules, /promote, driven as a
user through the real PTB against the fake Bot API, over the in-memory and SQLite storages,
with the rules in force really compiled (so a saved rule really matches)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.models import Article
from tests.bot.telegram.harness import (
    ADMIN,
    GROUP,
    OTHER,
    STORAGE_FACTORIES,
    USER,
    RunningBot,
    running_bot,
    subs,
)

SOURCES = {
    "config/rules/main.yaml": (
        "rules:\n"
        "  - id: csp\n"
        "    name: Comprehensive Strategic Partnership\n"
        "    query: '\"strategic partnership\"'\n"
        "  - id: unclos\n"
        "    name: UNCLOS\n"
        "    query: UNCLOS\n"
    )
}


@pytest.fixture(params=sorted(STORAGE_FACTORIES))
async def prb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningBot]:
    (tmp_path / "rules").mkdir()
    async with running_bot(
        storage=STORAGE_FACTORIES[request.param](tmp_path),
        rule_sources=SOURCES,
        config_dir=tmp_path,
        personal_limit=2,
    ) as running:
        yield running


def article(title: str) -> Article:
    return Article(
        feed_url="https://news.example/rss",
        identity=f"guid:{title}",
        title=title,
        content="The comprehensive strategic partnership was discussed at length.",
    )


async def saved_rule(prb: RunningBot, query: str, chat_id: int = USER) -> None:
    preview = await prb.ask(f"/watch {query}", chat_id)
    assert await prb.press(preview, "Save as rule") == "Saved"


async def test_watch_previews_then_saves_a_rule_the_engine_matches(prb: RunningBot) -> None:
    await prb.ingest("Vietnam and US deepen ties", "csp")
    await prb.ingest("Old story", "csp", minutes=-60 * 24 * 40)  # stored, but published long ago
    await prb.ingest("East Sea talks", "unclos", minutes=1)
    preview = await prb.ask("/watch strategic AND partnership")
    assert preview.text.startswith(
        "🔎 Preview of strategic AND partnership: it would have matched 3 stories in the last "
        "30 days (3 stories searched)."
    )
    assert "Newest:" in preview.text
    assert preview.raw_text.count("<b>strategic</b>") == 3  # the hits, highlighted
    assert [b["text"] for b in preview.buttons] == ["💾 Save as rule", "✏️ Refine", "✖ Cancel"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in preview.buttons)

    assert await prb.press(preview, "Save as rule") == "Saved"
    assert preview.text.startswith(
        "✅ Saved as rule 1 of this chat (u1001-1): strategic AND partnership\n"
        "This chat is subscribed"
    )
    assert preview.buttons == []
    assert await subs(prb, USER) == {"u1001-1"}
    rules = prb.services.rules.current
    info = rules.get("u1001-1")
    assert info is not None
    assert info.name == "strategic AND partnership"
    assert rules.get("csp") is not None  # the file rules stay in force
    matched = [m.rule_id for m in rules.match(article("New CSP story"))]
    assert matched == ["csp", "u1001-1"]
    assert [r.number for r in await prb.storage.personal_rules(USER)] == [1]


async def test_watch_bad_input(prb: RunningBot) -> None:
    empty = await prb.ask("/watch")
    assert "Give a query" in empty.text
    assert "/watch QUERY" in empty.text
    bad = await prb.ask('/watch "East Sea')
    assert bad.text.startswith("❌ That query is not valid (column 1): unclosed quote.")
    assert '<pre>"East Sea\n^</pre>' in bad.raw_text
    near = await prb.ask("/watch Rubio NEAR/x Blinken")
    # the caret sits under the column in a monospace block
    assert "<pre>Rubio NEAR/x Blinken\n      ^</pre>" in near.raw_text
    assert "Hint: write NEAR/5" in near.text
    assert bad.buttons == []
    assert await prb.storage.personal_rules(USER) == []


async def test_cancel_and_refine_save_nothing(prb: RunningBot) -> None:
    preview = await prb.ask("/watch Rubio")
    assert "would have matched 0 stories" in preview.text
    assert await prb.press(preview, "Cancel") == "Cancelled"
    assert preview.text == "✖ Cancelled: Rubio was not saved."
    again = await prb.ask("/watch Rubio OR Blinken")
    await prb.press(again, "Refine")
    assert again.text.endswith("/watch Rubio OR Blinken")
    assert again.buttons == []
    assert await prb.storage.personal_rules(USER) == []


async def test_the_admins_limit_per_chat(prb: RunningBot) -> None:
    await saved_rule(prb, "Rubio")
    await saved_rule(prb, "Blinken")
    third = await prb.ask("/watch Lavrov")
    answer = await prb.press(third, "Save as rule")
    assert answer.startswith("This chat already has 2 personal rules, the most allowed.")
    assert len(await prb.storage.personal_rules(USER)) == 2
    # the limit is per chat
    await saved_rule(prb, "Lavrov", chat_id=OTHER)


async def test_previews_only_when_the_admin_turned_saving_off(tmp_path: Path) -> None:
    async with running_bot(rule_sources=SOURCES, personal_limit=0) as rb:
        preview = await rb.ask("/watch Rubio")
        assert "turned off by the bot's administrator" in preview.text
        assert [b["text"] for b in preview.buttons] == ["✏️ Refine", "✖ Cancel"]


async def test_personal_rules_belong_to_their_chat(prb: RunningBot) -> None:
    await saved_rule(prb, "Rubio")
    refused = await prb.ask("/subscribe u1001-1", OTHER)
    assert "There is no rule called “u1001-1”" in refused.text
    assert "u1001" not in (await prb.ask("/rules", OTHER)).text
    assert await subs(prb, OTHER) == set()


async def test_myrules_lists_edits_pauses_resumes_and_deletes(prb: RunningBot) -> None:
    assert "no personal rules" in (await prb.ask("/myrules")).text
    await saved_rule(prb, "Rubio")
    listed = await prb.ask("/myrules")
    assert listed.text.startswith("Personal rules of this chat (1 of 2)\n\n1. Rubio · u1001-1")
    assert [b["text"] for b in listed.buttons] == ["⏸ Pause 1", "🗑 Delete 1"]

    assert await prb.press(listed, "Pause 1") == "Paused rule 1"
    assert "⏸ paused" in listed.text
    assert prb.services.rules.current.get("u1001-1") is None  # nothing matches a paused rule
    assert await subs(prb, USER) == {"u1001-1"}  # ... and it keeps its subscription
    assert await prb.press(listed, "Resume 1") == "Resumed rule 1"
    assert prb.services.rules.current.get("u1001-1") is not None

    edited = await prb.ask("/myrules edit 1 Rubio OR Blinken")
    assert edited.text == "✏️ Rule 1 now reads Rubio OR Blinken."
    compiled = prb.services.rules.current.compiled("u1001-1")
    assert compiled is not None
    found = prb.services.rules.current.match(article("Blinken visits Hanoi"))
    assert [m.rule_id for m in found] == ["csp", "u1001-1"]
    assert (await prb.ask("/myrules pause 1")).text == "⏸ Paused rule 1."
    assert (await prb.ask("/myrules resume 1")).text == "▶ Resumed rule 1."

    assert await prb.press(listed, "Delete 1") == "Deleted rule 1"
    assert listed.text.startswith("This chat has no personal rules.")
    assert await subs(prb, USER) == set()
    assert prb.services.rules.current.get("u1001-1") is None


async def test_myrules_bad_input(prb: RunningBot) -> None:
    await saved_rule(prb, "Rubio")
    assert "Unknown action “frob”" in (await prb.ask("/myrules frob 1")).text
    assert "Give the rule's number" in (await prb.ask("/myrules edit x Rubio")).text
    assert "Give the rule's number" in (await prb.ask("/myrules delete")).text
    assert "Give the new query" in (await prb.ask("/myrules edit 1")).text
    bad = await prb.ask("/myrules edit 1 (Rubio")
    assert bad.text.startswith("❌ That query is not valid (column 1): unclosed '('")
    assert "<pre>" in bad.raw_text
    assert (await prb.ask("/myrules pause 9")).text == (
        "❌ This chat has no personal rule 9. See /myrules."
    )
    assert (await prb.storage.personal_rules(USER))[0].query == "Rubio"


async def test_in_a_group_anyone_previews_but_only_admins_save(prb: RunningBot) -> None:
    prb.tg.add_chat(GROUP, "group", title="Analysts", admins=[ADMIN + 1])
    preview = await prb.ask("/watch Rubio", GROUP, user_id=OTHER, chat_type="group")
    answer = await prb.press(preview, "Save as rule", user_id=OTHER)
    assert answer == "Only this group's administrators can change its rules."
    assert await prb.storage.personal_rules(GROUP) == []
    assert await prb.press(preview, "Save as rule", user_id=ADMIN + 1) == "Saved"
    assert await subs(prb, GROUP) == {"u-4001-1"}
    refused = await prb.ask("/myrules delete 1", GROUP, user_id=OTHER, chat_type="group")
    assert refused.text == "❌ Only this group's administrators can change its rules."
    listed = await prb.ask("/myrules", GROUP, user_id=OTHER, chat_type="group")
    assert await prb.press(listed, "Delete 1", user_id=OTHER) == (
        "Only this group's administrators can change its rules."
    )


async def test_admins_promote_a_personal_rule_into_a_rule_file(prb: RunningBot) -> None:
    await saved_rule(prb, "Rubio OR Blinken")
    assert "for the bot's administrators" in (await prb.ask("/promote u1001-1 x")).text
    listed = await prb.ask("/promote", ADMIN)
    assert "u1001-1 Rubio OR Blinken" in listed.text
    assert "no personal rule “nope”" in (await prb.ask("/promote nope diplomats", ADMIN)).text
    assert "Give the personal rule's id" in (await prb.ask("/promote u1001-1", ADMIN)).text
    taken = await prb.ask("/promote u1001-1 csp", ADMIN)
    assert "already exists" in taken.text
    bad = await prb.ask("/promote u1001-1 Bad!", ADMIN)
    assert bad.text.startswith("❌ Not promoted:")
    assert "bad rule id 'Bad!'" in bad.text

    done = await prb.ask("/promote u1001-1 diplomats", ADMIN)
    assert done.text.startswith("⬆️ u1001-1 is now the rule diplomats in ")
    promoted = prb.services.settings.rules_dir / "promoted.yaml"
    text = promoted.read_text(encoding="utf-8")
    assert "  - id: diplomats\n" in text
    assert "      Rubio OR Blinken\n" in text
    assert await subs(prb, USER) == {"diplomats"}
    assert await prb.storage.personal_rules(USER) == []


async def test_save_as_rule_from_a_search_result(prb: RunningBot) -> None:
    await prb.ingest("Vietnam and US deepen ties", "csp")
    page = await prb.ask('/search "strategic partnership"')
    before = len(prb.tg.messages(USER))
    assert await prb.press(page, "Save as rule") == "Saved"
    [saved] = (await prb.tg.wait_for_messages(before + 1, chat_id=USER))[before:]
    assert saved.text.startswith(
        '✅ Saved as rule 1 of this chat (u1001-1): "strategic partnership"'
    )
    assert page.text.startswith('🔎 "strategic partnership": 1 story')  # the page stays
    assert await subs(prb, USER) == {"u1001-1"}
    stale = prb.tg.user_presses("w:f:999", page, USER)
    await prb.tg.wait_for(
        lambda: any(a["callback_query_id"] == stale for a in prb.tg.callback_answers),
        what="expired answer",
    )
    assert prb.tg.callback_answers[-1]["text"] == "This preview has expired; send /watch again."
