"""The fast path for plain rule lists (``rules.compiler._fast_read``) reads exactly what
PyYAML reads, or declines; a rule set compiled through it equals the YAML path's; and a problem
in a fast-path file is reported exactly as the YAML path reports it."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RuleError
from core.models import StoryMode
from rules import compile_ruleset, compiler
from rules.compiler import _fast_read

SCALARS = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12),
    st.sampled_from(
        [
            "sea",
            "yes",
            "~",
            "null",
            "12",
            "a: b",
            "a:b",
            "a:",  # a mapping indicator at the end: PyYAML refuses it
            "a #b",
            "a#b",
            "#x",
            "- x",
            "[title, summary]",
            "[title,content]",
            "[http://x/f, y]",
            '"East Sea" OR x',
            "'it''s'",
            '"caf\\u00e9"',
            '"a\\tb"',
            '"\\ud83e\\udd14"',
            "&anchor",
            "*ref",
            "!tag x",
            "x  ",
            "|",
            ">-",
        ]
    ),
    st.builds(json.dumps, st.text(max_size=12)),
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["id", "name", "query", "fields", "tags"]), SCALARS),
        min_size=1,
        max_size=4,
    )
)
def test_the_fast_reader_reads_what_pyyaml_reads_or_declines(pairs: list[tuple[str, str]]) -> None:
    keys = dict(pairs)
    body = "".join(
        ("  - " if i == 0 else "    ") + f"{k}: {v}\n" for i, (k, v) in enumerate(keys.items())
    )
    text = "# rules\nrules:\n" + body
    fast = _fast_read(text)
    if fast is None:
        return
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        pytest.fail(f"the fast reader accepted invalid YAML: {text!r}")
    assert root is not None
    # the compiler reads scalars as written (node.value), lists as lists of those
    ((_, rules),) = root.value
    expected: dict[str, str | list[str]] = {}
    for key_node, value_node in rules.value[0].value:
        if isinstance(value_node, yaml.SequenceNode):
            expected[key_node.value] = [item.value for item in value_node.value]
        else:
            expected[key_node.value] = value_node.value
    assert fast == [(2, expected)]


QUERY = '"east sea" OR w'


def plain_rules(n: int, extra: str = "") -> str:
    return "rules:\n" + "".join(
        f"  - id: r{i}\n    name: Rule {i}\n    query: {json.dumps(QUERY + str(i))}\n"
        f"    fields: [title, content]\n    priority: high\n{extra}"
        for i in range(n)
    )


def test_the_fast_path_gives_the_same_rule_set_as_the_yaml_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (
        plain_rules(30)
        + "  - id: last\n    name: L\n    query: 'a AND NOT b'  # c\n"
        + "  - id: every\n    name: E\n    query: x\n    stories: separate\n"
    )
    assert _fast_read(text) is not None
    fast = compile_ruleset({"f.yaml": text})
    monkeypatch.setattr(compiler, "_fast_read", lambda text: None)
    slow = compile_ruleset({"f.yaml": text})
    assert fast.compiled_rules == slow.compiled_rules
    assert fast.terms == slow.terms
    assert fast.get("every") == slow.get("every")
    every = fast.get("every")
    assert every is not None
    assert every.stories is StoryMode.SEPARATE


@pytest.mark.parametrize(
    "extra",
    [
        "  - id: r3\n    name: Again\n    query: x\n",  # duplicate id
        "  - id: bad\n    name: B\n    query: '(a'\n",  # syntax error
        "  - id: bad\n    name: B\n    query: a or b\n",  # a warning, not an error
        "  - id: bad\n    name: B\n    query: '@nope'\n",
        "  - id: bad\n    name: B\n    query: x\n    priority: urgent\n",
    ],
)
def test_a_problem_in_a_fast_path_file_reads_as_on_the_yaml_path(
    extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = plain_rules(5) + extra
    assert _fast_read(text) is not None

    def outcome() -> str:
        try:
            return "\n".join(compile_ruleset({"f.yaml": text, "g.yaml": plain_rules(0)}).warnings)
        except RuleError as e:
            return str(e)

    fast = outcome()
    monkeypatch.setattr(compiler, "_fast_read", lambda text: None)
    assert fast == outcome()
    assert fast


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        lambda a, body, b: f'{a}"{body}"{b}',
        st.sampled_from(["", " ", "\n "]),
        st.text(st.sampled_from('ab *"“”„\t=@/()'), max_size=8),
        st.sampled_from(["", " ", "x", ")", " AND b"]),
    )
)
def test_the_one_phrase_shortcut_builds_the_parsers_tree(query: str) -> None:
    from rules.query import QueryError, _Parser, parse_query

    try:
        expected: object = _Parser(query).parse()
    except QueryError as e:
        expected = ("error", e.message, e.offset)
    try:
        got: object = parse_query(query)
    except QueryError as e:
        got = ("error", e.message, e.offset)
    assert got == expected
