"""The query language and matching semantics, one behaviour per case, on small texts."""

from __future__ import annotations

import json

import pytest

from core.models import Article, Hit, StoryMode
from rules import RuleSet, compile_ruleset
from rules.normalize import fast_tokens, fold_plural, tokens_with_spans


def rules_of(*queries: str, extra: str = "", aliases: str = "") -> RuleSet:
    lines = [aliases, "rules:"]
    for i, q in enumerate(queries):
        lines.append(f"  - id: r{i}\n    name: R{i}\n    query: {json.dumps(q)}\n{extra}")
    return compile_ruleset({"t.yaml": "\n".join(lines)})


def fires(query: str, title: str = "", content: str = "", summary: str = "") -> bool:
    article = Article(
        feed_url="http://127.0.0.1/f", identity="i", title=title, summary=summary, content=content
    )
    return bool(rules_of(query).match(article))


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # words and phrases: case-insensitive, whole words only
        ("son", "Bui Thanh Son met", True),
        ("son", "a Sonata for piano", False),
        ("sonata", "a Son", False),
        ('"strategic partnership"', "a Comprehensive Strategic Partnership", True),
        ('"strategic partnership"', "strategic, partnership", True),  # punctuation separates
        ('"strategic partnership"', "partnership strategic", False),
        # diacritics both ways, plurals, quotes, dashes, invisible characters
        ('"Bùi Thanh Sơn"', "Bui Thanh Son", True),
        ('"Bui Thanh Son"', "BÙI THANH SƠN", True),
        ('"Đà Nẵng"', "Da Nang city", True),
        ("partnership", "two partnerships", True),
        ("policies", "the policy", True),
        ("match", "two matches", True),
        ("new", "the news", False),
        ('"Foreign Affairs"', "Foreign Affair🧔s", True),
        ('"Foreign Affairs"', "Foreign Affair\u200bs", True),
        ('"Vietnam US"', "Vietnam–US ties", True),
        ('"Vietnam-US"', "Vietnam — US", True),
        ('"US\'s support"', "the US’s support", True),
        # phrases and NEAR respect sentences: no match across . ! ? : ; followed by a space,
        # or across a line break (the watchers put each paragraph or heading on its own line)
        ('"East Sea"', "East\n   Sea", False),
        ('"East Sea"', "Middle East: Sea freight rates rose", False),
        ('"East Sea"', "talks in the East. Sea levels rose", False),
        ('"East Sea"', "in the east; sea", False),
        ('"East Sea"', "East Sea? Yes", True),
        ('"East Sea"', "East \u2013 Sea", True),
        ('"Vietnam US"', "the Vietnam-US talks", True),
        ('"Vietnam RoK"', "Vietnam\u2013RoK ties", True),
        ('"Vietnam US"', "Vietnam/US", True),
        ('"Vietnam US"', "Vietnam:US", True),  # no space after the colon: a ratio, a time
        ('"U.S. Navy"', "the U.S. Navy said", True),  # a full stop after one letter: initials
        ('"J Smith"', "J. Smith said", True),
        ('"US Navy"', "ties with the US. Navy ships", False),
        ('"U.S. Navy"', "backed by the U.S.: Navy", False),
        ("east NEAR/3 sea", "the East. Sea", False),
        ("east NEAR/3 sea", "the East, a Sea", True),
        ("east AND sea", "the East. Sea", True),  # AND is about the article, not a sentence
        ("ﬁnance", "finance", True),  # NFKC
        ("ＵＳＡ", "the USA", True),
        # boolean operators, implicit AND, parentheses, precedence
        ("sea AND east", "east sea", True),
        ("sea east", "sea only", False),
        ("sea OR east", "east only", True),
        ('"East Sea" AND NOT football', "East Sea football final", False),
        ('"East Sea" AND NOT football', "East Sea patrol", True),
        ('"East Sea" NOT football', "East Sea patrol", True),
        ("a1 OR b1 c1", "b1", False),  # AND binds tighter than OR: a1 OR (b1 AND c1)
        ("a1 OR b1 c1", "b1 c1", True),
        ("(a1 OR b1) c1", "a1", False),
        ("and OR or", "this and that", True),  # lower-case operators are words
        # NEAR/n: at most n words between, either order, same field
        ("unclos NEAR/2 convention", "UNCLOS the 1982 convention", True),
        ("unclos NEAR/1 convention", "UNCLOS the 1982 convention", False),
        ("unclos NEAR/0 convention", "convention UNCLOS", True),
        ('"law of the sea" NEAR/3 convention', "the Convention on the Law of the Sea", True),
        ("(unclos OR law) NEAR/1 sea", "law and sea", True),
        ("(a1 NEAR/1 b1) NEAR/1 c1", "a1 b1 x c1", True),
        ("(a1 NEAR/1 b1) NEAR/0 c1", "a1 b1 x c1", False),
        # prefix wildcards
        ("partner*", "our partners", True),
        ("partner*", "a partnership", True),
        ("partner*", "apartner", False),
        ('"strategic partner*"', "strategic partnerships", True),
        # exact case
        ("=US", "join us", False),
        ("=US", "the US said", True),
        ("=US", "the US’s aid", True),
        ("=WHO", "who said", False),
        ("=WHO", "the WHO said", True),
        ("=NGO", "two NGOs", True),
        ('="Bui Thanh Son"', "Bùi Thanh Sơn", True),  # diacritics still fold
        ('="Bui Thanh Son"', "bui thanh son", False),
        ("=Partner*", "Partnership", True),
        ("=Partner*", "partnership", False),
        # RE2 regular expressions, on the original text
        ("/\\bEV(FTA|IPA)\\b/", "the EVFTA deal", True),
        ("/evfta/", "the EVFTA deal", False),
        ("/evfta/i", "the EVFTA deal", True),
        ("/Sơn/", "Son", False),
    ],
)
def test_language(query: str, text: str, expected: bool) -> None:
    assert fires(query, content=text) is expected


def test_field_scopes_and_rule_fields() -> None:
    assert fires("title:sea", title="sea")
    assert not fires("title:sea", content="sea")
    assert fires('summary:"east sea"', summary="the East Sea")
    assert fires("title:(sea OR land) AND content:unclos", title="land", content="UNCLOS")
    assert not fires("title:(sea OR land) AND content:unclos", title="UNCLOS", content="land")
    only_title = rules_of("sea", extra="    fields: [title]\n")
    assert not only_title.match(Article(feed_url="f", identity="i", title="x", content="sea"))
    assert only_title.match(Article(feed_url="f", identity="i", title="sea"))
    # a scope in the query overrides the rule's fields
    scoped = rules_of("content:sea", extra="    fields: [title]\n")
    assert scoped.match(Article(feed_url="f", identity="i", title="x", content="sea"))


def test_near_does_not_cross_fields() -> None:
    assert not fires("east NEAR/0 sea", title="east", content="sea")


def test_aliases_expand_to_any_of_their_entries() -> None:
    aliases = (
        "aliases:\n  unclos:\n    - UNCLOS\n"
        "    - United Nations Convention on the Law of the Sea\n    - =LOS\n"
    )
    rs = rules_of("@unclos", "title:@unclos", "@UNCLOS NEAR/2 1982", aliases=aliases)
    art = Article(
        feed_url="f",
        identity="i",
        title="t",
        content="the 1982 United Nations Convention on the Law of the Sea; los",
    )
    assert [m.rule_id for m in rs.match(art)] == ["r0", "r2"]
    (hit,) = rs.match(art)[0].hits
    assert hit == Hit("United Nations Convention on the Law of the Sea", "content", 9, 56)


def test_feed_scoping_by_url_name_or_tag() -> None:
    rs = compile_ruleset(
        {
            "t.yaml": "rules:\n"
            "  - {id: a, name: A, query: sea, feeds: ['http://x/feed', VnExpress]}\n"
            "  - {id: b, name: B, query: sea, feed_tags: [vietnam]}\n"
            "  - {id: c, name: C, query: sea}\n"
        }
    )

    def ids(feed_url: str, feed_name: str | None = None, tags: tuple[str, ...] = ()) -> list[str]:
        art = Article(feed_url=feed_url, identity="i", title="sea", feed_name=feed_name)
        return [m.rule_id for m in rs.match(art, tags)]

    assert ids("http://x/feed") == ["a", "c"]
    assert ids("http://y/feed", "VnExpress") == ["a", "c"]
    assert ids("http://y/feed", tags=("vietnam",)) == ["b", "c"]
    assert ids("http://y/feed", tags=("sports",)) == ["c"]


def test_hits_give_original_offsets_and_why() -> None:
    title = "Vietnam–EU: “Comprehensive Strategic Partnerships” and Sơn’s visit"
    rs = rules_of('"comprehensive strategic partnership" OR "strategic partnership"', "son")
    matches = rs.match(Article(feed_url="f", identity="i", title=title))
    assert [m.rule_id for m in matches] == ["r0", "r1"]
    spans = [(h.term, title[h.start : h.end]) for h in matches[0].hits]
    # nested phrases are both found (all overlapping hits)
    assert spans == [
        ("comprehensive strategic partnership", "Comprehensive Strategic Partnerships"),
        ("strategic partnership", "Strategic Partnerships"),
    ]
    assert [title[h.start : h.end] for h in matches[1].hits] == ["Sơn"]


def test_negated_terms_give_no_hits_and_match_order_is_rule_order() -> None:
    rs = rules_of("sea AND NOT land", "east")
    (m0, m1) = rs.match(Article(feed_url="f", identity="i", title="east sea"))
    assert (m0.rule_id, m1.rule_id) == ("r0", "r1")
    assert [h.term for h in m0.hits] == ["sea"]


def test_regex_hits_are_char_offsets_in_the_original_text() -> None:
    rs = rules_of("/Sơn\\b/")
    (m,) = rs.match(Article(feed_url="f", identity="i", title="Bùi Thanh Sơn"))
    assert m.hits == (Hit("/Sơn\\b/", "title", 10, 13),)


def test_empty_ruleset_matches_nothing() -> None:
    assert RuleSet.empty().match(Article(feed_url="f", identity="i", title="sea")) == []
    assert RuleSet.empty().rules == ()
    assert RuleSet.empty().get("x") is None


def test_rule_info_and_get() -> None:
    rs = compile_ruleset(
        {
            "t.yaml": "rules:\n  - id: sea\n    name: Sea\n    description: The sea\n"
            "    query: sea\n    priority: high\n    mode: digest\n    tags: [a, b]\n"
        }
    )
    info = rs.get("sea")
    assert info is not None
    assert (info.name, info.description, info.priority, info.mode, info.tags) == (
        "Sea",
        "The sea",
        "high",
        "digest",
        ("a", "b"),
    )
    assert info.stories is StoryMode.GROUP  # the default: one alert per story


def test_a_rule_can_ask_for_every_article_of_a_story() -> None:
    rs = compile_ruleset(
        {"t.yaml": "rules:\n  - id: sea\n    name: Sea\n    query: sea\n    stories: Separate\n"}
    )
    info = rs.get("sea")
    assert info is not None
    assert info.stories is StoryMode.SEPARATE


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Foreign Affair🧔s", ["foreign", "affair"]),
        ("US’s", ["us", "s"]),
        ("Bùi Thanh Sơn", ["bui", "thanh", "son"]),
        ("Đà Nẵng", ["da", "nang"]),
        ("Straße", ["strasse"]),
        ("hi-tech – 2021–2026", ["hi", "tech", "2021", "2026"]),
        ("a\u00a0b\u2009c\nd", ["a", "b", "c", "d"]),
        ("Москва́", ["москва"]),
        ("東京", ["東京"]),
        ("news policies classes boxes us bus", ["news", "policy", "class", "box", "us", "bus"]),
    ],
)
def test_normalisation(text: str, words: list[str]) -> None:
    assert fast_tokens(text) == words
    assert [t.word for t in tokens_with_spans(text)] == words


def test_offsets_cover_invisible_characters_inside_a_word() -> None:
    text = "Minister of Foreign Affair🧔s Bui"
    tokens = tokens_with_spans(text)
    assert text[tokens[3].start : tokens[3].end] == "Affair🧔s"


def test_plural_folding_leaves_non_plurals_alone() -> None:
    assert [fold_plural(w) for w in ("us", "bus", "class", "crisis", "news", "sea")] == [
        "us",
        "bus",
        "class",
        "crisis",
        "news",
        "sea",
    ]


def test_a_large_plain_rule_list_compiles_and_matches() -> None:
    n = 5_001
    text = "rules:\n" + "".join(
        f"  - id: r{i}\n    name: R{i}\n    query: '\"word{i} sea\" OR =US{i}'\n" for i in range(n)
    )
    rs = compile_ruleset({"big.yaml": text})
    assert len(rs.rules) == n
    art = Article(feed_url="f", identity="i", title="Word7 seas and US42, us43")
    matches = rs.match(art)
    assert [m.rule_id for m in matches] == ["r7", "r42"]
    assert matches[0].hits == (Hit("word7 sea", "title", 0, 10),)


def test_snippets_mark_hits_and_escape_only_the_text() -> None:
    import html

    from rules.explain import snippets

    text = "A <b>bold</b> claim: the Comprehensive Strategic Partnership & more. " + "x " * 60
    rs = rules_of('"comprehensive strategic partnership" OR "strategic partnership"')
    (m,) = rs.match(Article(feed_url="f", identity="i", title="t", content=text))
    (snip,) = snippets(text, m.hits, width=30, mark=("<b>", "</b>"), escape=html.escape)
    assert snip.startswith(
        "A &lt;b&gt;bold&lt;/b&gt; claim: the "
        "<b>Comprehensive Strategic Partnership</b> &amp; more."
    )
    assert snip.endswith("…")


def test_decide_gives_the_fired_rules_and_hits_on_demand() -> None:
    rules = compile_ruleset(
        {
            "t.yaml": "rules:\n"
            "  - {id: a, name: A, query: '\"East Sea\" OR Spratly'}\n"
            "  - {id: b, name: B, query: 'sea AND NOT football'}\n"
            "  - {id: c, name: C, query: 'sea NEAR/1 east', feed_tags: [vietnam]}\n"
            "  - {id: d, name: D, query: football}\n"
        }
    )
    article = Article(feed_url="http://x/f", identity="i", title="East Sea patrols", content="")
    decision = rules.decide(article)
    assert decision.rule_ids == ("a", "b")  # c is limited to feeds tagged vietnam
    assert rules.decide(article, ["vietnam"]).rule_ids == ("a", "b", "c")
    [only_b] = decision.matches(["b", "d"])  # d did not fire: ignored
    assert only_b.rule_id == "b"
    assert [(h.term, h.start, h.end) for h in only_b.hits] == [("sea", 5, 8)]
    assert decision.matches() == rules.match(article)
    assert not rules.decide(Article(feed_url="u", identity="j", title="nothing"))
