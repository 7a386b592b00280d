"""Every error path of rule files: each gives file:line:col, the line with a caret, and a hint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config.rule_files import load_rules_dir
from core.errors import RuleError
from rules import PERSONAL_SOURCE, compile_ruleset
from rules.compiler import _fast_read


def error_of(text: str, name: str = "r.yaml") -> str:
    with pytest.raises(RuleError) as info:
        compile_ruleset({name: text})
    return str(info.value)


def rule(query: str, extra: str = "") -> str:
    return f"rules:\n  - id: x\n    name: X\n    query: {query}\n{extra}"


def caret_col(message: str) -> int:
    """1-based column of the caret under the quoted line (both are indented by 4)."""
    caret_line = next(line for line in message.splitlines() if line.strip() == "^")
    return len(caret_line) - 4


@pytest.mark.parametrize(
    ("query", "where", "message", "hint"),
    [
        ("'\"East Sea\" OR'", "r.yaml:4:26", "the query ends where a word was expected", "finish"),
        ("'(sea OR land'", "r.yaml:4:13", "unclosed '('", "add the matching ')'"),
        ("'sea)'", "r.yaml:4:16", "unmatched ')'", "remove it"),
        ("'\"East Sea'", "r.yaml:4:13", "unclosed quote", 'closing "'),
        ("'sea NEAR land'", "r.yaml:4:17", "NEAR needs a distance", "NEAR/5"),
        ("'sea NEAR/500 land'", "r.yaml:4:17", "NEAR distance 500 is too large", "at most"),
        ("'sea AND NOT land NEAR/2 (a AND b)'", "r.yaml:4:38", "NEAR needs words", "cannot use"),
        ("'@uncls'", "r.yaml:4:13", "unknown alias @uncls", "defined aliases: none"),
        ("'NOT football'", "r.yaml:4:13", "can match an article without", "add a word"),
        ("'/a(?<=b)/'", "r.yaml:4:13", "invalid regular expression", "RE2 syntax"),
        ("'pa*'", "r.yaml:4:13", "a prefix must have at least 3 letters", ""),
        ("'par*tner'", "r.yaml:4:16", "'*' may only end a word", "partner*"),
        ("'🧔'", "r.yaml:4:13", "has no letters or digits", ""),
        (
            "'sea OR \"Middle East: Sea\"'",
            "r.yaml:4:20",
            "cannot span sentence punctuation",
            "NEAR",
        ),
        ("'author:smith'", "r.yaml:4:13", "unknown field 'author'", "title, summary, content"),
        ("'a OR OR b'", "r.yaml:4:18", "OR where a word was expected", "between two terms"),
        ("''", "r.yaml:4:5", "empty 'query'", ""),
        ("'()'", "r.yaml:4:13", "empty parentheses", ""),
    ],
)
def test_bad_queries_are_located(query: str, where: str, message: str, hint: str) -> None:
    error = error_of(rule(query))
    first = error.splitlines()[0]
    assert first.startswith(f"{where}: "), error
    assert message in first
    hint_line = next((line for line in error.splitlines() if line.startswith("  hint: ")), "")
    assert hint in hint_line
    assert caret_col(error) == int(where.rsplit(":", 1)[1])


def test_query_errors_in_block_scalars_point_into_the_right_line() -> None:
    text = (
        "rules:\n  - id: x\n    name: X\n    query: >-\n"
        '      (UNCLOS OR "Law of\n      the Sea") NEAR/5 convention AND (foo\n'
    )
    error = error_of(text)
    assert error.startswith("r.yaml:6:39: unclosed '('")
    assert '      the Sea") NEAR/5 convention AND (foo' in error


@pytest.mark.parametrize(
    ("text", "start", "message"),
    [
        # an unclosed bracket or quote: where it was opened, not where the reader gave up
        ("rules:\n  - id: x\n    name: [1\n", "r.yaml:3:11:", "while parsing a flow sequence"),
        ("rules:\n  - id: x\n    name: 'X\n  - id: y\n", "r.yaml:3:11:", "quoted scalar"),
        # a misplaced line: that line, with the block it breaks named
        ("rules:\n  - id: x\n    name: X\n   query: x\n", "r.yaml:4:4:", "starts on line 2"),
        ("rules:\n  - id: x\n    query: Middle East: Sea\n", "r.yaml:3:23:", "mapping values"),
        ("rules:\n  - id: x\n\tname: y\n", "r.yaml:3:1:", "invalid YAML"),
        ("- just\n- a list\n", "r.yaml:1:1:", "a rule file must be a mapping"),
        ("rule:\n  - id: x\n", "r.yaml:1:1:", "unknown key 'rule'"),
        ("rules: {id: x}\n", "r.yaml:1:8:", "'rules' must be a list"),
        ("rules:\n  - sea\n", "r.yaml:2:5:", "each rule must be a mapping"),
        ("rules:\n  - name: X\n    query: sea\n", "r.yaml:2:5:", "rule without 'id'"),
        ("rules:\n  - id: x\n    query: sea\n", "r.yaml:2:5:", "rule without 'name'"),
        ("rules:\n  - id: x\n    name: X\n", "r.yaml:2:5:", "rule without 'query'"),
        (rule("sea", "    priorty: high\n"), "r.yaml:5:5:", "unknown rule key 'priorty'"),
        (rule("sea", "    priority: urgent\n"), "r.yaml:5:15:", "bad priority 'urgent'"),
        (rule("sea", "    mode: later\n"), "r.yaml:5:11:", "bad mode 'later'"),
        (rule("sea", "    stories: apart\n"), "r.yaml:5:14:", "bad stories 'apart'"),
        (rule("sea", "    fields: [title, body]\n"), "r.yaml:5:21:", "unknown field 'body'"),
        (rule("sea", "    name: Y\n"), "r.yaml:5:5:", "duplicate key 'name'"),
        ("rules:\n  - id: Bad Id\n    name: X\n    query: sea\n", "r.yaml:2:9:", "bad rule id"),
        ("rules:\n  - id: u-42-1\n    name: X\n    query: sea\n", "r.yaml:2:9:", "reserved"),
        ("aliases:\n  a: []\nrules: []\n", "r.yaml:2:6:", "alias @a is empty"),
        ("aliases:\n  a: [x, 'par*tner']\n", "r.yaml:2:14:", "'*' may only end"),
    ],
)
def test_bad_files_are_located(text: str, start: str, message: str) -> None:
    error = error_of(text)
    assert error.startswith(start), error
    assert message in error.splitlines()[0]
    assert "^" in error


def test_every_problem_is_listed_in_one_error() -> None:
    text = rule("'@nope'") + "  - id: y\n    name: Y\n    query: '(a'\n"
    error = error_of(text)
    assert error.startswith("2 problems in rule files:")
    assert "r.yaml:4:13: unknown alias @nope" in error
    assert "r.yaml:7:13: unclosed '('" in error


def test_duplicate_rule_id_across_files_names_both_places() -> None:
    with pytest.raises(RuleError) as info:
        compile_ruleset({"a.yaml": rule("sea"), "b.yaml": "\n" + rule("land")})
    assert str(info.value).startswith("b.yaml:3:9: duplicate rule id 'x'")
    assert "first used at a.yaml:2" in str(info.value)


def test_personal_ids_are_refused_in_a_plain_rule_list_too() -> None:
    # A plain list of one-line rules takes the compiler's fast reader (``rule_light``); the id
    # reserved for /watch rules must be refused there as on the YAML path, with its place.
    plain = "rules:\n  - id: sea\n    name: S\n    query: sea\n  - id: u1001-3\n    name: X\n"
    plain += "    query: land\n"
    assert _fast_read(plain) is not None  # really the fast path
    with pytest.raises(RuleError) as info:
        compile_ruleset({"a.yaml": rule("x"), "b.yaml": plain})
    first = str(info.value).splitlines()[0]
    assert first.startswith("b.yaml:5:9: rule id 'u1001-3' is reserved"), first
    assert "^" in str(info.value)
    # The personal rules' own source may use them, on the fast path as well.
    personal = plain.replace("id: sea", "id: u1001-2")
    assert _fast_read(personal) is not None
    ruleset = compile_ruleset({"a.yaml": rule("x"), PERSONAL_SOURCE: personal})
    assert [r.id for r in ruleset.rules] == ["x", "u1001-2", "u1001-3"]


def test_duplicate_alias_across_files() -> None:
    with pytest.raises(RuleError, match=r"b.yaml:2:3: alias @sea is defined twice"):
        compile_ruleset({"a.yaml": "aliases:\n  sea: [a]\n", "b.yaml": "aliases:\n  sea: [b]\n"})


def test_aliases_are_shared_across_files() -> None:
    rs = compile_ruleset({"a.yaml": "aliases:\n  sea: [East Sea]\n", "b.yaml": rule("'@sea'")})
    assert [r.id for r in rs.rules] == ["x"]


def test_empty_and_comment_only_files_define_nothing() -> None:
    assert compile_ruleset({"a.yaml": "", "b.yaml": "# nothing yet\n"}).rules == ()


# ---- the folder loader ---------------------------------------------------------------------


def test_load_rules_dir_reads_yaml_and_yml_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.yml").write_text(rule("sea").replace("id: x", "id: b"))
    (tmp_path / "a.yaml").write_text(rule("sea").replace("id: x", "id: a"))
    (tmp_path / "notes.txt").write_text("not a rule file")
    (tmp_path / ".hidden.yaml").write_text("broken: [")
    assert [r.id for r in load_rules_dir(tmp_path).rules] == ["a", "b"]


def test_load_rules_dir_reports_the_file_path(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(rule("'(sea'"))
    with pytest.raises(RuleError) as info:
        load_rules_dir(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'a.yaml'}:4:13: unclosed '('")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    if os.geteuid() == 0:  # root reads any file: a dangling link is unreadable for everyone
        path.symlink_to(tmp_path / "missing.yaml")
    else:
        path.write_text(rule("sea"))
        path.chmod(0)
    with pytest.raises(RuleError, match=r"a\.yaml: cannot read"):
        load_rules_dir(tmp_path)


def test_not_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"rules: []\n# caf\xe9\n")
    with pytest.raises(RuleError, match=r"a\.yaml: not UTF-8 text"):
        load_rules_dir(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="rules folder not found"):
        load_rules_dir(tmp_path / "nope")
