"""Property tests: the fast engine agrees exactly with the naive reference, and the fast
normaliser agrees with the offset-keeping one, on generated rules and noisy texts."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import Article
from rules import RuleSet, compile_ruleset
from rules.normalize import (
    SpanFinder,
    fast_tokens,
    fold_split,
    sentence_breaks,
    token_spans,
    tokens_with_spans,
)
from tests.rules.reference import reference_match

# Words chosen to collide: plurals, prefixes, diacritics, acronyms that are also words,
# substrings of other words ("son" / "sonata"), words that only look plural ("news").
VOCAB = [
    "east",
    "sea",
    "son",
    "sonata",
    "bui",
    "us",
    "who",
    "partner",
    "partnership",
    "strategic",
    "comprehensive",
    "policy",
    "news",
    "new",
    "law",
]
SURFACE = {
    "son": ["son", "Son", "Sơn", "SON"],
    "bui": ["bui", "Bùi", "BUI"],
    "us": ["us", "US", "Us", "U.S.", "U.S"],
    "who": ["who", "WHO", "Who"],
    "partner": ["partner", "partners", "Partners", "partner’s"],
    "partnership": ["partnership", "partnerships", "Partnership", "PARTNERSHIPS"],
    "policy": ["policy", "policies", "Policies"],
    "sea": ["sea", "Sea", "seas", "SEA"],
    "east": ["east", "East", "EAST"],
}
SEPARATORS = [" ", " ", " ", "  ", "\n", " – ", "—", "’", "'", ", ", ". ", " (", ") ", "-"]
# sentence and clause marks: a phrase or NEAR must not match across them (unless no
# whitespace follows, or a full stop ends a one-letter word: "U.S. Navy")
SEPARATORS += [": ", "; ", "? ", "! ", ".", ":", "\u2026 ", "\u3002", ".\u201d ", "\n\n"]
INSIDE_NOISE = ["🧔", "\u200b", "\u200d", "\u00ad", "✃", "\u0301"]


FILLER = ["the", "of", "and", "minister", "talks", "in", "Hanoi", "2023"]


@st.composite
def surface_word(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(FILLER))  # words no rule mentions keep hits sparse
    base = draw(st.sampled_from(VOCAB))
    word = draw(st.sampled_from(SURFACE.get(base, [base, base.capitalize(), base.upper()])))
    if len(word) > 2 and draw(st.integers(0, 5)) == 0:
        cut = draw(st.integers(1, len(word) - 1))
        word = word[:cut] + draw(st.sampled_from(INSIDE_NOISE)) + word[cut:]
    return word


@st.composite
def text(draw: st.DrawFn, max_words: int = 25) -> str:
    words = draw(st.lists(surface_word(), min_size=max_words // 3, max_size=max_words))
    out: list[str] = []
    for w in words:
        out.append(w)
        out.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(out)


@st.composite
def term(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(st.sampled_from(VOCAB))
    if kind <= 5:
        phrase = " ".join(draw(st.lists(st.sampled_from(VOCAB), min_size=2, max_size=3)))
        return f'"{phrase}"'
    if kind == 6:
        base = draw(st.sampled_from([w for w in VOCAB if len(w) >= 4]))
        return base[: draw(st.integers(3, len(base)))] + "*"
    if kind == 7:
        return "=" + draw(st.sampled_from(["US", "WHO", "Son", "Sơn", "Partner*", "East"]))
    if kind == 8:
        return draw(st.sampled_from(["@people", "@sea", "title:son", "content:@sea"]))
    return draw(st.sampled_from(["/[Ss]on(ata)?/", "/Bùi/i", "/\\bUS\\b/"]))


def positional(draw: st.DrawFn, depth: int) -> str:
    if depth <= 0 or draw(st.booleans()):
        return draw(st.sampled_from(["east", "sea", "son", "us", '"east sea"', "partner*", "@sea"]))
    left = positional(draw, depth - 1)
    right = positional(draw, depth - 1)
    return f"({left} NEAR/{draw(st.integers(0, 3))} {right})"


@st.composite
def query(draw: st.DrawFn, depth: int = 3) -> str:
    if depth <= 0:
        return draw(term())
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return draw(term())
    if kind in (1, 7):
        return positional(draw, 2)
    sub = [draw(query(depth - 1)) for _ in range(draw(st.integers(2, 3)))]
    if kind == 2:
        return "(" + " OR ".join(sub) + ")"
    if kind == 3:
        return "(" + " AND ".join(sub) + ")"
    if kind == 4:
        return "(" + " ".join(sub) + ")"  # implicit AND
    if kind == 5:
        return f"({sub[0]} AND NOT {sub[1]})"
    return f"title:({sub[0]} OR {sub[1]})"


ALIASES = (
    'aliases:\n  people: ["=Bùi Thanh Sơn", "Son", "=WHO"]\n  sea: ["East Sea", "seas", "Law*"]\n'
)


def ruleset_yaml(queries: list[str], fields: list[list[str]]) -> str:
    lines = [ALIASES, "rules:"]
    for i, (q, f) in enumerate(zip(queries, fields, strict=True)):
        lines.append(f"  - id: r{i}\n    name: R{i}\n    query: {json.dumps(q)}")
        if f:
            lines.append(f"    fields: {json.dumps(f)}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    queries=st.lists(query(), min_size=1, max_size=6),
    fields=st.lists(
        st.lists(st.sampled_from(["title", "summary", "content"]), max_size=2, unique=True),
        min_size=6,
        max_size=6,
    ),
    title=text(max_words=8),
    summary=text(max_words=15),
    content=text(max_words=40),
)
def test_engine_agrees_with_the_naive_reference(
    queries: list[str], fields: list[list[str]], title: str, summary: str, content: str
) -> None:
    source = ruleset_yaml(queries, fields[: len(queries)])
    rules = compile_ruleset({"gen.yaml": source})
    article = Article(
        feed_url="http://127.0.0.1/f",
        identity="x",
        title=title,
        summary=summary,
        content=content,
    )
    expected = reference_match(rules, article)
    assert rules.match(article) == expected
    decision = rules.decide(article)  # deciding alone gives the same rules
    assert decision.rule_ids == tuple(m.rule_id for m in expected)
    some = {m.rule_id for m in expected[::2]}
    assert decision.matches(some) == [m for m in expected if m.rule_id in some]
    scan_all = RuleSet(rules.compiled_rules, rules.terms, rules.regexes, scan_all_terms=True)
    assert scan_all.match(article) == expected


@settings(max_examples=500, deadline=None)
@given(st.one_of(text(), st.text(max_size=60), st.text(st.characters(codec="utf-8"), max_size=30)))
def test_fast_tokens_equal_the_offset_keeping_tokenizer(value: str) -> None:
    spans = tokens_with_spans(value)
    assert fast_tokens(value) == [t.word for t in spans]
    assert token_spans(value) == [(t.start, t.end) for t in spans]
    finder = SpanFinder(value)  # asked in a scrambled order, from cold and from warm
    order = sorted(range(len(spans)), key=lambda i: (i * 7919) % (len(spans) or 1))
    assert [finder.span(i) for i in order] == [(spans[i].start, spans[i].end) for i in order]
    folded = fold_split(value)  # offsets straight from the fold's by-products
    assert folded.breaks == sentence_breaks(value)
    reused = SpanFinder(value, folded)
    assert [reused.span(i) for i in range(len(folded.words))] == [(t.start, t.end) for t in spans]
    for t in spans:
        assert 0 <= t.start < t.end <= len(value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing(value: str) -> None:
    once = fast_tokens(value)
    assert fast_tokens(" ".join(once)) == once
