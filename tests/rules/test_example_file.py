"""The commented example file: valid, never loaded as live rules, and each example does what its
comment says (one text it must match, one it must not)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.rule_files import rule_files
from core.models import Article
from rules import RuleSet, compile_ruleset

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "rules-example.yaml"

# rule id -> (title, content) it matches, (title, content) it does not
CASES = {
    "example-word": (("", "ASEAN ministers met"), ("", "Asian ministers met")),
    "example-phrase": (
        ("", "their comprehensive strategic partnerships"),
        ("", "a strategic and comprehensive partnership"),
    ),
    "example-boolean": (("", "patrols in the East Sea"), ("", "East Sea derby: football")),
    "example-near": (
        ("", "the Law of the Sea, a 1982 convention"),
        ("", "the law of the sea. " + "word " * 8 + "convention"),
    ),
    "example-prefix": (("", "strategic partnerships"), ("", "strategic planning")),
    "example-exact": (("", "the WHO office in Vietnam"), ("", "who in Vietnam knows")),
    "example-fields": (
        ("Hanoi hosts talks", "the National Assembly met"),
        ("Talks", "Hanoi and the National Assembly"),
    ),
    "example-fields-rule": (("Typhoon Yagi", ""), ("Weather", "a typhoon is coming")),
    "example-alias": (
        ("", "the US backs the Law of the Sea convention"),
        ("", "join us to read UNCLOS"),
    ),
    "example-regex": (("", "the EVFTA entered into force"), ("", "the evfta entered into force")),
    "example-feeds": (("", "military drills"), ("", "cooking")),
    "example-block": (
        ("", "Vietnam and Japan upgraded to a comprehensive strategic partnership"),
        ("", "Vietnam and Japan signed a deal"),
    ),
    "example-sentence": (
        ("", "the Vietnam\u2013RoK talks on the East Sea"),
        ("", "Middle East: Sea freight rates rose"),
    ),
}


@pytest.fixture(scope="module")
def example() -> RuleSet:
    return compile_ruleset({str(EXAMPLE): EXAMPLE.read_text(encoding="utf-8")})


def test_example_is_outside_the_rules_folder() -> None:
    assert EXAMPLE not in rule_files(ROOT / "config" / "rules")


def test_every_example_rule_is_checked(example: RuleSet) -> None:
    assert [r.id for r in example.rules] == list(CASES)


def test_the_example_teaches_every_construct() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for construct in (
        " AND ",
        " OR ",
        "NOT ",
        "NEAR/",
        "*",
        "=WHO",
        "@unclos",
        "/\\b",
        "title:",
        "fields:",
        "feeds",
        "feed_tags:",
        "aliases:",
        "priority:",
        "mode:",
        "(",
    ):
        assert construct in text, construct


@pytest.mark.parametrize("rule_id", list(CASES))
def test_example_rule_does_what_its_comment_says(example: RuleSet, rule_id: str) -> None:
    (yes_title, yes_content), (no_title, no_content) = CASES[rule_id]
    tags = ("vietnam",)

    def fired(title: str, content: str) -> bool:
        art = Article(feed_url="http://127.0.0.1/f", identity="i", title=title, content=content)
        return rule_id in {m.rule_id for m in example.match(art, tags)}

    assert fired(yes_title, yes_content)
    assert not fired(no_title, no_content)
