"""Compiling in a worker process: the packed and rebuilt rule set is the same rule set, and a
problem comes back as the same RuleError."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import RuleError
from core.models import Article
from rules import compile_ruleset
from rules.loader import _TABLES, CHUNK, compile_off_loop, pack, unpack, unpack_parts
from tests.rules.test_property import query, ruleset_yaml, text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries=st.lists(query(), min_size=1, max_size=6), content=text(max_words=40))
def test_a_packed_rule_set_matches_like_the_original(queries: list[str], content: str) -> None:
    rules = compile_ruleset({"gen.yaml": ruleset_yaml(queries, [[] for _ in queries])})
    copy = unpack(pack(rules))
    article = Article(
        feed_url="http://127.0.0.1/f", identity="x", title=content[:30], content=content
    )
    assert copy.match(article) == rules.match(article)
    assert copy.compiled_rules == rules.compiled_rules
    assert copy.terms == rules.terms
    assert [r.source for r in copy.regexes] == [r.source for r in rules.regexes]
    for name in _TABLES:
        assert getattr(copy, name) == getattr(rules, name), name


def big_rules(n: int) -> str:
    return "rules:\n" + "".join(
        f"  - id: r{i}\n    name: R{i}\n    query: '\"word{i} sea\" OR (w{i} AND NOT x)'\n"
        for i in range(n)
    )


def test_unpacking_goes_part_by_part() -> None:
    rules = compile_ruleset({"big.yaml": big_rules(2 * CHUNK + 5)})
    parts = pack(rules)
    steps = list(unpack_parts(parts))
    assert len(steps) > len(parts)  # at least one step per part, the rule set last
    assert all(step is None for step in steps[:-1])
    rebuilt = steps[-1]
    assert rebuilt is not None
    article = Article(feed_url="f", identity="i", title="Word7 seas; w9", content="w1001 y")
    assert rebuilt.decide(article).rule_ids == ("r7", "r9", "r1001")


def test_compile_off_loop_gives_the_rule_set_or_the_same_error() -> None:
    source = {"big.yaml": big_rules(50)}
    calls: list[int] = []

    async def run() -> None:
        rules = await compile_off_loop(source, between=lambda: calls.append(1))
        article = Article(feed_url="f", identity="i", title="word3 sea")
        assert rules.decide(article).rule_ids == ("r3",)
        with pytest.raises(RuleError) as info:
            await compile_off_loop(
                {"bad.yaml": "rules:\n  - id: a\n    name: A\n    query: '(x'\n"}
            )
        with pytest.raises(RuleError) as here:
            compile_ruleset({"bad.yaml": "rules:\n  - id: a\n    name: A\n    query: '(x'\n"})
        assert str(info.value) == str(here.value)

    asyncio.run(run())
    assert calls  # called between parts
