"""``bot.personal_rules``: ids, the YAML source the rule-file compiler reads, promotion."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.personal_rules import (
    default_name,
    is_personal_rule_id,
    parse_personal_rule_id,
    personal_rule_id,
    personal_source,
    promoted_entry,
)
from core.models import Article
from rules import PERSONAL_SOURCE, compile_ruleset
from storage.base import PersonalRule

WHEN = datetime(2025, 7, 11, tzinfo=UTC)


def rule(number: int, query: str, name: str | None = None, paused: bool = False) -> PersonalRule:
    return PersonalRule(-4001, number, name or query, query, paused, None, WHEN)


def test_ids_are_namespaced_by_chat_and_number() -> None:
    assert personal_rule_id(1001, 3) == "u1001-3"
    assert personal_rule_id(-4001, 1) == "u-4001-1"
    assert parse_personal_rule_id("u-4001-1") == (-4001, 1)
    assert parse_personal_rule_id("csp") is None
    assert not is_personal_rule_id("u1001")


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
