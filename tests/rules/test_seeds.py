"""The shipped rules on the real seed articles: they fire where a reader expects, and only there.

Also the noisy spots of the seeds: an emoji inside "Affairs", curly apostrophes, lower-case
plurals of a capitalised rule phrase.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config.rule_files import load_rules_dir
from core.models import Article
from rules import RuleSet, compile_ruleset

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "tests" / "data" / "seeds"  # copies of the real pages in /work/shared/seeds

# What a reader of each seed article expects the shipped rules to flag. Articles are whole
# pages, "related news" teasers included, so a partner named only in a teaser counts.
EXPECTED = {
    # Deputy PM meets US, EU, UK officials; CSP with the US; East Sea and UNCLOS; China teaser
    "000": {"csp", "east-sea", "vietnam-us", "vietnam-eu", "vietnam-uk", "vietnam-china"},
    # the same meetings, another outlet's report
    "001": {"csp", "east-sea", "vietnam-us", "vietnam-eu", "vietnam-uk"},
    # meetings with Japan and Switzerland; RoK teasers; East Sea teaser. No US, EU, UK, China.
    "002": {"csp", "east-sea", "vietnam-japan", "vietnam-korea"},
    # upgrades of ties: CSPs, the US, China, Japan, RoK teaser. No sea, no EU, no UK.
    "003": {"csp", "vietnam-us", "vietnam-china", "vietnam-japan", "vietnam-korea"},
    # Vietnam - US foreign ministers' dialogue: CSP, East Sea. Nothing else.
    "004": {"csp", "east-sea", "vietnam-us"},
}


def seed_article(prefix: str) -> Article:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    title, _, content = path.read_text(encoding="utf-8").partition("\n")
    return Article(
        feed_url="http://127.0.0.1/feed", identity=path.name, title=title, content=content
    )


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules_dir(ROOT / "config" / "rules")


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_shipped_rules_fire_where_a_reader_expects(shipped: RuleSet, prefix: str) -> None:
    fired = {m.rule_id for m in shipped.match(seed_article(prefix))}
    assert fired == EXPECTED[prefix]


def test_every_shipped_rule_is_exercised_by_some_seed(shipped: RuleSet) -> None:
    expected = set().union(*EXPECTED.values())
    assert {r.id for r in shipped.rules} == expected


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_hits_point_at_the_matched_words_in_the_original_text(
    shipped: RuleSet, prefix: str
) -> None:
    article = seed_article(prefix)
    for match in shipped.match(article):
        assert match.hits, match.rule_id
        for hit in match.hits:
            original = article.text_fields[hit.field][hit.start : hit.end]
            assert original, hit
            # the highlighted text starts and ends on a word character
            assert original[0].isalnum(), (hit, original)
            assert original[-1].isalnum(), (hit, original)


def one_rule(query: str) -> RuleSet:
    return compile_ruleset(
        {"t.yaml": f"rules:\n  - id: r\n    name: R\n    query: {json.dumps(query)}\n"}
    )


def test_emoji_inside_a_word_is_ignored_on_the_seed() -> None:
    article = seed_article("000")
    noisy = "Minister of Foreign Affair🧔s Bui Thanh Son"
    assert noisy in article.content
    matches = one_rule('"Minister of Foreign Affairs Bui Thanh Son"').match(article)
    starts = [h.start for h in matches[0].hits]
    assert article.content.index(noisy) in starts
    hit = next(h for h in matches[0].hits if h.start == article.content.index(noisy))
    assert article.content[hit.start : hit.end] == noisy


def test_curly_and_straight_apostrophes_are_the_same() -> None:
    article = seed_article("000")
    assert "US’s assistance" in article.content
    assert "US's commitment" in article.content
    for query in ('"US\'s assistance"', '"US’s commitment"'):
        (match,) = one_rule(query).match(article)
        assert len(match.hits) == 1


def test_lower_case_plural_is_found_by_the_capitalised_rule(shipped: RuleSet) -> None:
    article = seed_article("003")
    assert "comprehensive strategic partnerships" in article.content
    (csp,) = [m for m in shipped.match(article) if m.rule_id == "csp"]
    highlighted = {article.content[h.start : h.end] for h in csp.hits}
    assert "comprehensive strategic partnerships" in highlighted
    assert "Comprehensive Strategic Partnership" in highlighted


def test_exact_case_us_ignores_the_pronoun() -> None:
    rules = one_rule("=US")
    pronoun = Article(feed_url="f", identity="1", title="Join us for the summit")
    acronym = Article(feed_url="f", identity="2", title="Vietnam and the US agree")
    assert rules.match(pronoun) == []
    assert [m.rule_id for m in rules.match(acronym)] == ["r"]
