"""The rule engine's C parts (rules/_fastfold.c, rules/_wordscan.c) against their Python
equivalents: same words, same offsets, same patterns found, on generated input; plus the
checks that they are built at all and that bad input is refused, not crashed on."""

from __future__ import annotations

import shutil
import sysconfig
from array import array
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.models import Article
from rules import RuleSet, compile_ruleset, normalize, wordscan
from rules.normalize import (
    Folded,
    fold_split,
    scan_form,
    sentence_breaks,
    tokens_with_spans,
    word_offsets,
)
from tests.rules.reference import reference_match
from tests.rules.test_property import query, ruleset_yaml, text

HAVE_COMPILER = (
    shutil.which("cc") is not None
    and (Path(sysconfig.get_paths()["include"]) / "Python.h").exists()
)
native = pytest.mark.skipif(
    not (normalize.FAST_FOLD and wordscan.WORD_SCANNER), reason="C extensions not built"
)


def test_the_c_extensions_are_built_where_a_compiler_exists() -> None:
    if not HAVE_COMPILER:
        pytest.skip("no C compiler and Python headers: the pure-Python fallback is expected")
    assert normalize.FAST_FOLD, "rules._fastfold was not built: reinstall (pip install -e .)"
    assert wordscan.WORD_SCANNER, "rules._wordscan was not built: reinstall (pip install -e .)"


TEXTS = st.one_of(text(), st.text(max_size=80), st.text(st.characters(codec="utf-8"), max_size=40))


@native
@settings(max_examples=500, deadline=None)
@given(TEXTS)
def test_c_fold_equals_the_python_fold_and_the_reference(value: str) -> None:
    spans = tokens_with_spans(value)
    words = [t.word for t in spans]
    breaks = sentence_breaks(value)
    norm, source = scan_form(value)
    assert isinstance(source, bytes)
    assert norm == with_breaks(words, breaks)
    offsets = word_offsets(value, source)
    assert [offsets.span(i) for i in range(len(words))] == [(t.start, t.end) for t in spans]
    if len(words) > 1:  # a phrase's span runs from its first word's start to its last's end
        assert offsets.words_span(0, len(words)) == (spans[0].start, spans[-1].end)
    python = fold_split(value)
    assert python.words == words
    assert python.breaks == breaks


def with_breaks(words: list[str], breaks: tuple[int, ...]) -> str:
    """The scan text the reference expects: single spaces, a double space at each break."""
    if not words:
        return ""
    return (
        " "
        + "".join(("  " if i in breaks else " ") * (i > 0) + w for i, w in enumerate(words))
        + " "
    )


@native
@pytest.mark.parametrize(
    "value",
    ["Middle East: Sea freight", "U.S. Navy. Then", "end.\u201d Next", "x\u00bd. Next", "a\n\nb"],
)
def test_c_and_python_scan_forms_agree_on_sentence_breaks(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c_norm = scan_form(value)[0]
    monkeypatch.setattr(normalize, "_fast_fold", None)
    assert scan_form(value)[0] == c_norm
    assert c_norm == with_breaks([t.word for t in tokens_with_spans(value)], sentence_breaks(value))


def test_python_scan_form_gives_the_same_norm_and_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalize, "_fast_fold", None)
    value = "Bùi Thanh Sơn’s Affair🧔s — ½ “Comprehensive Strategic Partnerships”"
    norm, source = scan_form(value)
    assert isinstance(source, Folded)
    spans = tokens_with_spans(value)
    assert norm == with_breaks([t.word for t in spans], sentence_breaks(value))
    offsets = word_offsets(value, source)
    assert [offsets.span(i) for i in range(len(spans))] == [(t.start, t.end) for t in spans]


# ---- the word automaton ----------------------------------------------------------------------

# Few words, so patterns share prefixes and suffixes and the failure links get exercised
# ("a b c" then "b c d" in "a b c d" needs the link from "a b c" to "b c").
WORDS = ["a", "b", "c", "ab", "abc", "partner", "partnership"]


@st.composite
def pattern(draw: st.DrawFn) -> str:
    vocab = WORDS[:3] if draw(st.booleans()) else WORDS
    words = draw(st.lists(st.sampled_from(vocab), min_size=1, max_size=4))
    if draw(st.booleans()):  # the last word is a prefix: " a b" matches " a bc "
        last = words[-1]
        words[-1] = last[: draw(st.integers(1, len(last)))]
        return " " + " ".join(words)
    return " " + " ".join(words) + " "


@native
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    patterns=st.lists(pattern(), min_size=1, max_size=25, unique=True),
    words=st.one_of(
        st.lists(st.sampled_from(WORDS[:3]), max_size=30),
        st.lists(st.sampled_from([*WORDS, "zz", "partners", "abcd", "|"]), max_size=40),
    ),
)
@example(patterns=[" a b c ", " b c d "], words=["a", "b", "c", "d"])
@example(patterns=[" a b ", " b "], words=["a", "|", "b"])
def test_word_automaton_finds_what_the_character_automaton_finds(
    patterns: list[str], words: list[str]
) -> None:
    by_id = {10_000 + 7 * i: p for i, p in enumerate(patterns)}  # ids are not node numbers
    # "|" stands for a sentence break: a double space, which no pattern spans
    norm = (" " + " ".join(words) + " ").replace(" | ", "  ").replace("| ", " ") if words else ""
    if norm.strip() == "":
        norm = ""
    expected = wordscan.build_scanner(by_id, words=False).scan(norm)
    assert wordscan.build_scanner(by_id, words=True).scan(norm) == expected


@native
def test_word_automaton_reports_nested_and_overlapping_phrases() -> None:
    patterns = {
        1: " comprehensive strategic partnership ",
        2: " strategic partnership ",
        3: " partnership ",
        4: " strategic partner",
        5: " partnership summit ",
        6: " law of the sea ",
    }
    scanner = wordscan.build_scanner(patterns, words=True)
    norm = " a comprehensive strategic partnership summit on the law of sea "
    assert scanner.scan(norm) == {1, 2, 3, 4, 5}
    assert scanner.scan("") == set()
    assert scanner.scan(" strategic partners ") == {4}


@native
@pytest.mark.parametrize(
    ("fail", "message"),
    [
        (array("i", [0, 5]), "fail: node out of range"),
        (array("i", []), "fail: need the root"),
        (array("i", [0, 2, 1]), "cycle"),  # 1 -> 2 -> 1 would hang a scan
    ],
)
def test_word_automaton_refuses_inconsistent_tables(fail: array[int], message: str) -> None:
    from rules._wordscan import WordAutomaton

    n = len(fail)
    with pytest.raises(ValueError, match=message):
        WordAutomaton(
            ["a"],
            array("i", [0, 0, 1]),
            fail,
            array("i", [-1] * n),
            array("i", [-1] * n),
            [],
            array("i", [-1] * n),
        )


@native
def test_c_fold_refuses_what_is_not_text() -> None:
    from rules._fastfold import fold

    with pytest.raises(TypeError):
        fold(b"bytes")  # type: ignore[arg-type]


# ---- the whole engine on the fallbacks --------------------------------------------------------


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    queries=st.lists(query(), min_size=1, max_size=5),
    title=text(max_words=8),
    content=text(max_words=40),
)
def test_engine_on_the_python_fold_and_character_automaton_agrees_with_the_reference(
    queries: list[str], title: str, content: str
) -> None:
    source = ruleset_yaml(queries, [[] for _ in queries])
    article = Article(
        feed_url="http://127.0.0.1/f", identity="x", title=title, summary="", content=content
    )
    saved = normalize._fast_fold
    normalize._fast_fold = None  # as on an install without a C compiler
    try:
        rules = compile_ruleset({"gen.yaml": source})
        python = RuleSet(rules.compiled_rules, rules.terms, rules.regexes, word_scanner=False)
        expected = reference_match(rules, article)
        assert python.match(article) == expected
    finally:
        normalize._fast_fold = saved
    assert rules.match(article) == expected


@native
def test_scan_words_gives_word_ids_and_sentence_breaks() -> None:
    tables = wordscan.word_automaton_tables({1: " east sea ", 2: " sea "}, ["china", "sea"])
    vocabulary = {w: i for i, w in enumerate(tables[0])}
    assert tables[-1] == 2  # east, sea are the patterns'; china only named
    scanner = wordscan.word_automaton_from_tables(tables)
    seen, ids = scanner.scan_words(" east china sea  east sea ")
    assert seen == scanner.scan(" east china sea  east sea ") == {1, 2}
    e, s, c = vocabulary["east"], vocabulary["sea"], vocabulary["china"]
    assert list(array("i", ids)) == [e, c, s, -2, e, s]
    assert scanner.scan_words("") == (set(), b"")
    assert scanner.scan_words(" other words ")[1] == array("i", [-1, -1]).tobytes()


@native
def test_has_words_and_locate_words_respect_breaks_and_count_like_locate() -> None:
    vocabulary = {"east": 0, "sea": 1, "china": 2}
    seq = wordscan.word_ids(["east", "sea"], vocabulary)
    assert seq is not None
    assert wordscan.word_ids(["east", "ocean"], vocabulary) is None
    scanner = wordscan.word_automaton_from_tables(
        wordscan.word_automaton_tables({9: " china "}, ["east", "sea"])
    )
    norm = " east sea china east  sea east sea "  # the second pair straddles a break
    _, ids = scanner.scan_words(norm)
    seq = wordscan.word_ids(["east", "sea"], {w: i for i, w in enumerate(["china", "east", "sea"])})
    assert seq is not None
    assert wordscan.has_words is not None
    assert wordscan.locate_words is not None
    assert wordscan.has_words(ids, seq)
    found = wordscan.locate_words(ids, seq, 2)
    from rules._fastfold import locate

    assert found == locate(norm, " east sea", True, 2, 2) == [(2, 0, 2, 0), (2, 5, 7, 1)]
    _, other = scanner.scan_words(" east china sea  east ")
    assert not wordscan.has_words(other, seq)
    assert wordscan.locate_words(other, seq, 0) == []
    with pytest.raises(ValueError, match="word ids"):
        wordscan.has_words(ids, array("i", [-1]).tobytes())
    with pytest.raises(ValueError, match="int32"):
        wordscan.has_words(b"abc", seq)


@native
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries=st.lists(query(), min_size=1, max_size=5),
    title=text(max_words=8),
    content=text(max_words=40),
)
def test_confirming_phrases_by_word_ids_decide_like_str_find(
    queries: list[str], title: str, content: str
) -> None:
    rules = compile_ruleset({"gen.yaml": ruleset_yaml(queries, [[] for _ in queries])})
    article = Article(feed_url="http://127.0.0.1/f", identity="x", title=title, content=content)
    by_find = RuleSet(rules.compiled_rules, rules.terms, rules.regexes)
    by_find._seq = {}  # as before: str.find over the scan text for every confirming phrase
    assert rules.decide(article).rule_ids == by_find.decide(article).rule_ids
    assert rules.match(article) == by_find.match(article)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries=st.lists(query(), min_size=1, max_size=5),
    title=text(max_words=8),
    content=text(max_words=40),
)
def test_inline_plans_of_and_rules_decide_like_the_expressions(
    queries: list[str], title: str, content: str
) -> None:
    rules = compile_ruleset({"gen.yaml": ruleset_yaml(queries, [[] for _ in queries])})
    article = Article(feed_url="http://127.0.0.1/f", identity="x", title=title, content=content)
    walked = RuleSet(rules.compiled_rules, rules.terms, rules.regexes)
    walked._plans = {}  # every candidate through _holds
    assert rules.decide(article).rule_ids == walked.decide(article).rule_ids


def test_a_plan_is_made_for_and_of_plain_and_negated_terms_only() -> None:
    rules = compile_ruleset(
        {
            "p.yaml": "rules:\n"
            "  - id: a\n    name: A\n    query: 'sea AND NOT land'\n"
            "  - id: b\n    name: B\n    query: 'sea AND (land OR air)'\n"
            "  - id: c\n    name: C\n    query: 'sea AND =US'\n"
            "  - id: d\n    name: D\n    query: 'sea NEAR/2 land'\n"
        }
    )
    assert set(rules._plans) == {0}
    ((_, _, first), (_, _, second)) = rules._plans[0]
    assert (first, second) == (True, False)


@native
@settings(max_examples=400, deadline=None)
@given(value=TEXTS, picks=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 3)), max_size=6))
@example(value="Partnerships. Relations\n\nand the ties’s cases", picks=[(0, 1), (1, 2)])
def test_fold_scan_is_the_fold_then_the_scan(value: str, picks: list[tuple[int, int]]) -> None:
    """One pass (the fold handing the automaton each word as it folds it) finds what folding
    and then scanning the folded text finds, with and without keeping the text."""
    from rules._fastfold import fold_scan

    norm, source = scan_form(value)
    words = norm.split()
    # patterns from the text's own words (so some occur), and confirming words not scanned
    patterns = {i: " " + " ".join(words[s : s + k]) + " " for i, (s, k) in enumerate(picks)}
    patterns = {i: p for i, p in patterns.items() if p.strip()} or {0: " east sea "}
    tables = wordscan.word_automaton_tables(patterns, words[-3:])
    scanner = wordscan.word_automaton_from_tables(tables)
    seen, ids = scanner.scan_words(norm)
    assert fold_scan(value, scanner, True) == (norm, source, seen, ids)
    assert fold_scan(value, scanner, True, False) == (None, None, seen, ids)
    assert fold_scan(value, scanner, False, False) == (None, None, scanner.scan(norm))
    assert scanner.scan(norm) == seen


@native
def test_the_fold_keeps_plural_folds_only_for_the_mapping_in_force() -> None:
    """Plural folds are cached in C; configuring another mapping must not reuse them."""
    from rules import _fastfold

    text = "partnerships and relations, partnerships again"
    assert _fastfold.fold(text)[0] == " partnership and relation partnership again "

    class Upper(dict[str, str]):
        def __missing__(self, word: str) -> str:
            return word.upper()

    try:
        _fastfold.configure(normalize.fold_char, Upper())
        assert _fastfold.fold(text)[0] == " PARTNERSHIPS and RELATIONS PARTNERSHIPS again "
    finally:
        _fastfold.configure(normalize.fold_char, normalize._PLURALS)
    assert _fastfold.fold(text)[0] == " partnership and relation partnership again "


@native
def test_fold_scan_refuses_what_is_not_an_automaton() -> None:
    from rules._fastfold import fold_scan

    scanner = wordscan.build_scanner({1: " east sea "}, words=False)
    with pytest.raises(TypeError):
        fold_scan("east sea", scanner, False)
    with pytest.raises(TypeError):
        fold_scan("east sea", wordscan.build_word_automaton({1: " east sea "}))  # type: ignore[call-arg]


@native
@settings(max_examples=200, deadline=None)
@given(
    keys=st.sets(st.integers(0, 40)),
    table=st.dictionaries(
        st.integers(0, 40), st.lists(st.integers(0, 9), min_size=1, max_size=3).map(tuple)
    ),
    out=st.sets(st.integers(0, 9)),
)
def test_c_gather_adds_what_the_python_gather_adds(
    keys: set[int], table: dict[int, tuple[int, ...]], out: set[int]
) -> None:
    from rules.engine import _indexed

    wanted = out | {i for k in keys for i in table.get(k, ())}
    as_list = _indexed(table, 41)  # tuples of one held as their item
    for form in (table, as_list):
        expected, got = set(out), set(out)
        wordscan._gather(keys, form, expected)
        wordscan.gather(frozenset(keys), form, got)
        assert got == expected == wanted


IDS = st.lists(st.sampled_from([0, 1, 2, 3, -1, -2]), max_size=40)


@native
@settings(max_examples=400, deadline=None)
@given(
    fields=st.lists(IDS, min_size=3, max_size=3),
    mask=st.integers(0, 7),
    seq_a=st.lists(st.integers(0, 3), min_size=1, max_size=2),
    seq_b=st.lists(st.integers(0, 3), min_size=1, max_size=2),
    distance=st.integers(0, 4),
)
def test_near_words_decides_like_the_located_occurrences(
    fields: list[list[int]], mask: int, seq_a: list[int], seq_b: list[int], distance: int
) -> None:
    """``near_words`` (one C call) against ``_near_holds``'s rule on ``locate_words``'
    occurrences: same field and sentence, at most ``distance`` words apart."""
    assert wordscan.near_words is not None
    assert wordscan.locate_words is not None
    ids = [array("i", f).tobytes() for f in fields]
    a, b = array("i", seq_a).tobytes(), array("i", seq_b).tobytes()
    expected = any(
        fa == fb and na == nb and max(sb - ea, sa - eb) <= distance
        for f in range(3)
        if mask >> f & 1
        for fa, sa, ea, na in wordscan.locate_words(ids[f], a, f)
        for fb, sb, eb, nb in wordscan.locate_words(ids[f], b, f)
    )
    assert wordscan.near_words(ids, mask, a, b, distance) is expected


@native
def test_scan_fields_is_fold_scan_of_each_field() -> None:
    from rules._fastfold import fold_scan, scan_fields

    scanner = wordscan.build_word_automaton({1: " east sea ", 2: " sea "})
    texts = ["East Sea patrols.", "", "The sea, the East\nSea"]
    for want in (True, False):
        each = [fold_scan(t, scanner, want, False) for t in texts]
        seen, ids = scan_fields(texts, scanner, want)
        assert seen == tuple(e[2] for e in each)
        assert ids == (tuple(e[3] for e in each) if want else None)


@native
@settings(max_examples=400, deadline=None)
@given(ids=st.lists(st.sampled_from([0, 1, 2, -1, -2]), max_size=60), seq=IDS.filter(bool))
def test_locate_words_finds_every_run_as_a_python_search_does(
    ids: list[int], seq: list[int]
) -> None:
    """Runs of ids found in C (four at a time where the CPU allows) against a plain search."""
    assert wordscan.locate_words is not None
    if any(i < 0 for i in seq):
        return
    m = len(seq)
    starts = [i for i in range(len(ids) - m + 1) if ids[i : i + m] == seq]
    found = wordscan.locate_words(array("i", ids).tobytes(), array("i", seq).tobytes(), 0)
    assert len(found) == len(starts)
    for (_, first, end, sentence), at in zip(found, starts, strict=True):
        before = ids[:at]
        assert (first, end, sentence) == (
            sum(1 for i in before if i != -2),
            sum(1 for i in before if i != -2) + m,
            before.count(-2),
        )


@native
@settings(max_examples=300, deadline=None)
@given(
    plans=st.dictionaries(
        st.integers(0, 12),
        st.lists(st.tuples(st.integers(0, 9), st.integers(0, 7), st.booleans()), max_size=3).map(
            tuple
        ),
        max_size=10,
    ),
    extra=st.sets(st.integers(0, 12), max_size=5),
    seen=st.tuples(*[st.sets(st.integers(0, 9), max_size=6)] * 3),
    fields=st.lists(IDS, min_size=3, max_size=3),
    seqs=st.dictionaries(st.integers(0, 9), st.lists(st.integers(0, 3), min_size=1, max_size=2)),
    use_ids=st.booleans(),
)
def test_c_eval_plans_decides_like_the_python_loop(
    plans: dict[int, tuple[tuple[int, int, bool], ...]],
    extra: set[int],
    seen: tuple[set[int], set[int], set[int]],
    fields: list[list[int]],
    seqs: dict[int, list[int]],
    use_ids: bool,
) -> None:
    candidates = set(plans) | extra
    union = seen[0] | seen[1] | seen[2]
    ids = tuple(array("i", f).tobytes() for f in fields) if use_ids else None
    packed = {pid: array("i", seq).tobytes() for pid, seq in seqs.items()}

    def fields_of(pid: int) -> int:
        return pid % 8

    expected: set[int] = set()
    got: set[int] = set()
    rest_py = wordscan._eval_plans(candidates, plans, union, seen, ids, packed, fields_of, expected)
    rest_c = wordscan.eval_plans(candidates, plans, union, seen, ids, packed, fields_of, got)
    assert got == expected
    assert sorted(rest_c) == sorted(rest_py) == sorted(candidates - set(plans))
