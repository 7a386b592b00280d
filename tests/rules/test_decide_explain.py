"""Decide, then explain (#14): ``Decision.explained`` and ``RuleSet.hits_for`` give the hits
``RuleSet.match`` gives, for the rules asked about only."""

from __future__ import annotations

from core.models import Article
from rules import compile_ruleset

RULES = """
rules:
  - id: ties
    name: Ties
    query: '"strategic partnership" OR ties'
  - id: sea
    name: Sea
    query: 'title:east NEAR/3 sea'
  - id: not-rain
    name: Not rain
    query: 'partnership AND NOT rain'
  - id: only-there
    name: Limited
    query: 'ties'
    feeds: ["http://elsewhere/feed"]
"""

ARTICLE = Article(
    feed_url="http://127.0.0.1/feed",
    identity="a",
    title="East Sea: Vietnam and Japan upgrade ties",
    summary="A comprehensive strategic partnership.",
    content="Ties grow in the East Sea region; partnerships too.",
)


def test_explained_gives_hits_only_to_the_rules_asked_for_in_rule_order() -> None:
    rules = compile_ruleset({"r.yaml": RULES})
    full = {m.rule_id: m.hits for m in rules.match(ARTICLE)}
    assert set(full) == {"ties", "sea", "not-rain"}  # "only-there" is another feed's
    assert all(full.values())
    decision = rules.decide(ARTICLE)
    explained = decision.explained({"sea", "only-there"})
    assert [m.rule_id for m in explained] == list(decision.rule_ids) == ["ties", "sea", "not-rain"]
    assert {m.rule_id: m.hits for m in explained} == {
        "ties": (),
        "sea": full["sea"],
        "not-rain": (),
    }


def test_hits_for_locates_what_match_gives_and_skips_what_does_not_hold() -> None:
    rules = compile_ruleset({"r.yaml": RULES})
    full = {m.rule_id: m.hits for m in rules.match(ARTICLE)}
    found = rules.hits_for(ARTICLE, ["ties", "sea", "not-rain", "nobody"])
    assert found == {k: full[k] for k in ("ties", "sea", "not-rain")}
    # feed limits are not asked again: the match was decided
    only_ties = tuple(h for h in full["ties"] if h.term == "ties")
    assert rules.hits_for(ARTICLE, ["only-there"]) == {"only-there": only_ties}
    rainy = Article(ARTICLE.feed_url, "b", ARTICLE.title, content="partnership in the rain")
    assert "not-rain" not in rules.hits_for(rainy, ["not-rain"])  # no longer holds
    # of a title alone, the title's hits: what the whole article's hits are there
    title_only = Article(ARTICLE.feed_url, "a", ARTICLE.title)
    shown = rules.hits_for(title_only, ["ties", "sea"], if_true=False)
    assert shown == {k: tuple(h for h in full[k] if h.field == "title") for k in ("ties", "sea")}
