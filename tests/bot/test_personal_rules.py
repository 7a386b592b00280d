"""``bot.personal_rules``: ids, the YAML source the rule-file compiler reads, promotion."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.personal_rules import (
    PersonalRules,
    default_name,
    is_personal_rule_id,
    personal_rule_id,
    personal_source,
    promoted_entry,
)
from bot.runtime.rules_reloader import RuleReloader
from bot.services import RuleHolder, Services
from core.clock import FakeClock
from core.models import Article
from rules import PERSONAL_SOURCE, RuleSet, compile_ruleset
from storage.base import PersonalRule
from tests.fakes.memory_storage import MemoryStorage

WHEN = datetime(2025, 7, 11, tzinfo=UTC)


def rule(number: int, query: str, name: str | None = None, paused: bool = False) -> PersonalRule:
    rule_id = personal_rule_id(-4001, number)
    return PersonalRule(-4001, number, name or query, query, paused, None, WHEN, rule_id)


def test_ids_are_namespaced_by_chat_and_number() -> None:
    assert personal_rule_id(1001, 3) == "u1001-3"
    assert personal_rule_id(-4001, 1) == "u-4001-1"
    assert is_personal_rule_id("u-4001-1")
    assert not is_personal_rule_id("csp")
    assert not is_personal_rule_id("u1001")


def test_a_rule_is_compiled_under_its_stored_id_not_its_chat_and_number() -> None:
    """A rule that moved with its group to the supergroup's id keeps the id it was saved
    under: the rule set in force does not change with a migration."""
    moved = PersonalRule(-1009, 3, "Rubio", "Rubio", False, None, WHEN, "u-4001-1")
    compiled = compile_ruleset({PERSONAL_SOURCE: personal_source([moved])})
    assert [r.id for r in compiled.rules] == ["u-4001-1"]
    assert "Promoted from personal rule u-4001-1" in promoted_entry(moved, "rubio")


def test_the_source_compiles_every_unpaused_rule_exactly_as_typed() -> None:
    rules = [
        rule(1, '"East Sea" AND NOT football', name='Quotes " and: colons # here'),
        rule(2, "Rubio", paused=True),
        rule(3, "Biển Đông OR 'single'", name="Biển Đông"),
    ]
    compiled = compile_ruleset({PERSONAL_SOURCE: personal_source(rules)})
    assert [r.id for r in compiled.rules] == ["u-4001-1", "u-4001-3"]
    first = compiled.get("u-4001-1")
    assert first is not None
    assert first.name == 'Quotes " and: colons # here'
    assert first.tags == ("personal",)
    article = Article(feed_url="f", identity="i", title="Tension in the East Sea")
    assert [m.rule_id for m in compiled.match(article)] == ["u-4001-1"]
    assert compile_ruleset({PERSONAL_SOURCE: personal_source([])}).rules == ()


def test_names_default_to_the_query_shortened() -> None:
    assert default_name("  Rubio   OR  Blinken ") == "Rubio OR Blinken"
    assert len(default_name("word " * 40)) == 60


def test_a_promoted_entry_is_a_valid_rule_file_entry() -> None:
    text = "rules:\n" + promoted_entry(rule(1, '"East Sea"', name="Sea"), "east-sea")
    compiled = compile_ruleset({"promoted.yaml": text})
    info = compiled.get("east-sea")
    assert info is not None
    assert info.description == "Promoted from personal rule u-4001-1"


async def test_with_the_rules_reloader_save_pause_and_promote(tmp_path: Path) -> None:
    # The wiring App uses: the reloader compiles files + personal rules; a change to a personal
    # rule recompiles; a promotion re-reads the files, so the new file rule is in force at once.
    (tmp_path / "main.yaml").write_text("rules:\n  - id: sea\n    name: Sea\n    query: sea\n")
    storage = MemoryStorage()
    holder = RuleHolder(RuleSet.empty())
    services = Services(
        Settings(config_dir=tmp_path.parent),
        FeedsConfig(default_interval_s=300.0, feeds=()),
        storage,
        holder,
        FakeClock(),
    )
    personal = PersonalRules(services)
    errors: list[str] = []

    async def on_error(message: str) -> None:
        errors.append(message)

    reloader = RuleReloader(tmp_path, holder, on_error, compose=personal.compose)
    personal.rebuild, personal.reload_files = reloader.recompose, reloader.reload_now
    assert await reloader.reload_now()
    saved = await personal.save(7, "Rubio OR Blinken", user_id=7)
    assert [r.id for r in holder.current.rules] == ["sea", "u7-1"]
    assert await storage.subscriptions(7) == ["u7-1"]
    await personal.set_paused(7, 1, True)
    assert [r.id for r in holder.current.rules] == ["sea"]
    await personal.set_paused(7, 1, False)
    await personal.promote(saved, "diplomats", tmp_path)
    assert [r.id for r in holder.current.rules] == ["sea", "diplomats"]
    assert await storage.subscriptions(7) == ["diplomats"]
    assert errors == []


def test_names_with_emoji_quotes_and_control_characters_compile() -> None:
    name = '🇻🇳 Việt Nam "x" \\ tab\there'
    compiled = compile_ruleset({PERSONAL_SOURCE: personal_source([rule(1, "Vietnam", name)])})
    info = compiled.get("u-4001-1")
    assert info is not None
    assert info.name == name


async def test_a_stored_query_the_engine_refuses_is_left_out_not_fatal() -> None:
    storage = MemoryStorage()
    services = Services(
        Settings(),
        FeedsConfig(default_interval_s=300.0, feeds=()),
        storage,
        RuleHolder(RuleSet.empty()),
        FakeClock(),
    )
    await storage.add_personal_rule(1, "ok", "Rubio", limit=5, created_by=None, now=WHEN)
    await storage.add_personal_rule(1, "bad", "(Rubio", limit=5, created_by=None, now=WHEN)
    personal = PersonalRules(services)
    await personal.load()
    compiled = compile_ruleset(personal.compose({}))
    assert [r.id for r in compiled.rules] == ["u1-1"]
