"""The compiled rule set and the matcher.

Compilation puts every literal term of every rule into one Aho-Corasick automaton over
normalised text (words joined by single spaces, with a space at both ends, so a pattern
" strategic partnership " can only match whole words). Matching an article:

1. normalise each field once (``normalize.scan_form``) and scan it once with the automaton,
   collecting *all* overlapping hits ("strategic partnership" inside "comprehensive strategic
   partnership" is found too); with the C extensions both are one pass
   (``rules._fastfold.fold_scan``) and the normalised text is built only if needed;
2. take as candidates only the rules one of whose trigger terms was seen (every rule has a set
   of terms at least one of which must occur for it to match), plus the rare rules that cannot be
   triggered by a literal (a regex is their only positive term);
3. evaluate each candidate's expression on term positions (word indexes per field), and for the
   rules that match, map the positions of their hits back to offsets in the original text.

Offsets in the original text are computed lazily, only for fields that a matching rule (or an
exact-case term) needs. Does no I/O; the rule files are read by ``bot.config.rule_files``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from core.models import Article, Hit, RuleInfo, RuleMatch

from . import normalize as _normalize
from .normalize import (
    OffsetSource,
    SpanFinder,
    WordOffsets,
    case_key,
    case_matches,
    scan_form,
    word_offsets,
)
from .wordscan import (
    WORD_SCANNER,
    Scanner,
    WordsScanner,
    build_scanner,
    eval_plans,
    fields_with_words,
    gather,
    locate_words,
    near_words,
    word_automaton_from_tables,
    word_automaton_tables,
    word_ids,
)

_locate: Callable[[str, str, bool, int, int], list[tuple[int, int, int, int]]] | None
try:
    from rules._fastfold import locate as _locate
except ImportError:  # built without a C compiler: the str.find loop of _Doc.occurrences
    _locate = None
# The C fold handing the C word automaton each word as it folds it (one pass a field); both
# extensions are needed. ``_WordAutomaton`` is None without them, so no scanner is of its type.
_WordAutomaton: type | None
try:
    from rules._fastfold import scan_fields as _scan_fields
    from rules._wordscan import WordAutomaton as _WordAutomaton
except ImportError:
    _WordAutomaton = None

# Three: ``RuleSet.decide`` unpacks the scan's seen sets as (title, summary, content).
FIELDS: tuple[str, ...] = ("title", "summary", "content")
ALL_FIELDS_MASK = (1 << len(FIELDS)) - 1


@dataclass(frozen=True, slots=True)
class Term:
    """A literal term after normalisation. ``exact`` holds the case keys of the written words
    when the exact-case marker was used."""

    words: tuple[str, ...]
    prefix: bool = False
    exact: tuple[str, ...] | None = None
    display: str = ""

    @property
    def pattern(self) -> str:
        return " " + " ".join(self.words) + ("" if self.prefix else " ")

    def __reduce__(self) -> tuple[type[Term], tuple[Any, ...]]:
        return Term, (self.words, self.prefix, self.exact, self.display)


# ---- compiled expressions ------------------------------------------------------------------
# A position is (field index, first word index, end word index, hits); a hit is
# (display, field index, first word index, end word index) or, for regexes, char offsets.


@dataclass(frozen=True, slots=True)
class Leaf:
    term: int  # index into RuleSet.terms
    fields: int  # bit mask over FIELDS

    def __reduce__(self) -> tuple[type[Leaf], tuple[Any, ...]]:
        return Leaf, (self.term, self.fields)


@dataclass(frozen=True, slots=True)
class RegexLeaf:
    regex: int  # index into RuleSet.regexes
    fields: int

    def __reduce__(self) -> tuple[type[RegexLeaf], tuple[Any, ...]]:
        return RegexLeaf, (self.regex, self.fields)


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Expr, ...]

    def __reduce__(self) -> tuple[type[AllOf], tuple[Any, ...]]:
        return AllOf, (self.children,)


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Expr, ...]

    def __reduce__(self) -> tuple[type[AnyOf], tuple[Any, ...]]:
        return AnyOf, (self.children,)


@dataclass(frozen=True, slots=True)
class Not:
    child: Expr

    def __reduce__(self) -> tuple[type[Not], tuple[Any, ...]]:
        return Not, (self.child,)


@dataclass(frozen=True, slots=True)
class Near:
    left: Expr  # Leaf, AnyOf of positional operands, or Near
    right: Expr
    distance: int

    def __reduce__(self) -> tuple[type[Near], tuple[Any, ...]]:
        return Near, (self.left, self.right, self.distance)


Expr = Leaf | RegexLeaf | AllOf | AnyOf | Not | Near


@dataclass(frozen=True, slots=True)
class RegexSpec:
    source: str  # as written, e.g. "/Vi[eệ]t ?Nam/i"
    compiled: Any  # re2 pattern


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to evaluate. ``feeds`` / ``feed_tags`` empty means every feed."""

    info: RuleInfo
    expr: Expr
    query: str = ""
    feeds: frozenset[str] = frozenset()
    feed_tags: frozenset[str] = frozenset()
    source: str = ""  # "file:line" of the rule, for messages

    def applies_to(self, article: Article, feed_tags: Sequence[str]) -> bool:
        if not self.feeds and not self.feed_tags:
            return True
        if article.feed_url in self.feeds or (article.feed_name or "") in self.feeds:
            return True
        return any(tag in self.feed_tags for tag in feed_tags)

    def __reduce__(self) -> tuple[type[CompiledRule], tuple[Any, ...]]:
        return CompiledRule, (
            self.info,
            self.expr,
            self.query,
            self.feeds,
            self.feed_tags,
            self.source,
        )


def triggers(expr: Expr) -> frozenset[int] | None:
    """Terms at least one of which must occur for ``expr`` to be true; None if no such set."""
    if isinstance(expr, Leaf):
        return frozenset((expr.term,))
    if isinstance(expr, RegexLeaf | Not):
        return None
    if isinstance(expr, AnyOf):
        out: set[int] = set()
        for child in expr.children:
            sub = triggers(child)
            if sub is None:
                return None
            out |= sub
        return frozenset(out)
    if isinstance(expr, Near):
        candidates = [triggers(expr.left), triggers(expr.right)]
    else:
        candidates = [triggers(child) for child in expr.children]
    known = [c for c in candidates if c is not None]
    return min(known, key=len) if known else None


Occ = tuple[int, int, int, int]  # field, first word, end word, sentence (0, 1, ... per field)


class _Doc:
    """One article being matched: normalised fields, the patterns seen, lazy positions.

    The automaton scan only records *which* trigger patterns occur in each field (a set built
    in C, no Python code per hit). Positions are recovered later, and only for the terms of
    candidate rules, with ``str.find`` on the normalised text (all overlapping occurrences).
    """

    __slots__ = (
        "_norms",
        "_occ",
        "_parts",
        "_pfields",
        "_present",
        "_regex_hits",
        "_spans",
        "ids",
        "rs",
        "seen",
        "texts",
    )

    def __init__(self, rs: RuleSet, texts: list[str]) -> None:
        self.rs = rs
        self.texts = texts
        # the word ids of each field, when the rule set looks for confirming phrases by id
        self.ids: tuple[bytes, ...] | None = None
        self.seen: tuple[set[int], ...]
        self._norms: tuple[str, ...] | None = None
        self._parts: tuple[OffsetSource, ...] | None = None
        scanner = rs._scanner
        if type(scanner) is _WordAutomaton and _normalize._fast_fold is not None:
            # C fold and word automaton: one pass per field, the folded text not even built
            # (deciding needs only the scan; ``norms`` folds again if something needs it)
            self.seen, self.ids = _scan_fields(texts, scanner, bool(rs._seq))
        else:
            norms = self.norms
            if rs._seq:
                self.seen, self.ids = zip(
                    *map(cast(WordsScanner, scanner).scan_words, norms), strict=True
                )
            else:
                self.seen = tuple(map(scanner.scan, norms))
        self._spans: list[WordOffsets | SpanFinder | None] = [None] * len(texts)
        self._occ: dict[int, list[Occ]] = {}
        self._present: dict[int, int] = {}
        self._pfields: dict[int, int] = {}
        self._regex_hits: dict[int, list[tuple[int, int, int]]] = {}

    @property
    def norms(self) -> tuple[str, ...]:
        """The scan form of each field (folded on first need when the scan did not keep it)."""
        norms = self._norms
        if norms is None:
            # the C fold itself when built (read here: tests switch it off), not a Python
            # frame around it per field
            fold = _normalize._fast_fold or scan_form
            norms, self._parts = zip(*map(fold, self.texts), strict=True)
            self._norms = norms
        return norms

    def present(self, term_id: int) -> int:
        """Bit mask of the fields where a term occurs, without locating its occurrences
        (``pattern_fields``). Exact-case terms need their occurrences' original words, so
        they are located."""
        rs = self.rs
        if rs.terms[term_id].exact is None:
            return self.pattern_fields(rs._term_pattern[term_id])
        bits = self._present.get(term_id)
        if bits is None:
            bits = 0
            for o in self.occurrences(term_id):
                bits |= 1 << o[0]
            self._present[term_id] = bits
        return bits

    def pattern_fields(self, pid: int) -> int:
        """Bit mask of the fields where a pattern occurs: the scan's seen sets for scanned
        patterns, a run of word ids for confirming phrases (C automaton), one ``in`` test
        per field for the others (a sentence break is a double space, so ``in`` cannot
        match across it either). Cached per article."""
        bits = self._pfields.get(pid)
        if bits is not None:
            return bits
        rs = self.rs
        bits = 0
        seq = rs._seq.get(pid)
        if pid in rs._scanned:
            for f, seen in enumerate(self.seen):
                if pid in seen:
                    bits |= 1 << f
        elif seq is not None and self.ids is not None:
            assert fields_with_words is not None  # _seq is only filled with the C automaton
            bits = fields_with_words(self.ids, seq)
        else:
            needle = rs._needles[pid]
            whole = rs._patterns[pid].endswith(" ")  # not a prefix pattern
            size = len(needle)
            for f, norm in enumerate(self.norms):
                at = norm.find(needle)
                while at >= 0 and whole and norm[at + size] != " ":
                    at = norm.find(needle, at + 1)
                if at >= 0:
                    bits |= 1 << f
        self._pfields[pid] = bits
        return bits

    def span(self, f: int, i: int) -> tuple[int, int]:
        """(start, end) in the original text of word ``i`` of field ``f``."""
        return self.words_span(f, i, i + 1)

    def words_span(self, f: int, first: int, end: int) -> tuple[int, int]:
        """(start, end) in the original text of words ``first`` to ``end - 1`` of field ``f``."""
        finder = self._spans[f]
        if finder is None:
            parts = self._parts
            if parts is None:
                self.norms  # noqa: B018 (folds the fields, keeping their parts)
                parts = cast(tuple[OffsetSource, ...], self._parts)
            finder = self._spans[f] = word_offsets(self.texts[f], parts[f])
        return finder.words_span(first, end)

    def occurrences(self, term_id: int) -> list[Occ]:
        """(field, first word, end word, sentence) of every occurrence of a term, in text
        order. A pattern never spans a sentence break (a double space in the scan text)."""
        occ = self._occ.get(term_id)
        if occ is not None:
            return occ
        rs = self.rs
        term = rs.terms[term_id]
        pid = rs._term_pattern[term_id]
        needle = rs._needles[pid]
        whole = rs._patterns[pid].endswith(" ")  # not a prefix pattern
        size = len(needle)
        nwords = len(term.words)
        occ = []
        scanned = pid in rs._scanned
        seq = rs._seq.get(pid)
        all_ids = self.ids
        for f, seen in enumerate(self.seen):
            if scanned and pid not in seen:
                continue
            if seq is not None and all_ids is not None:
                assert locate_words is not None
                if all_ids[f]:
                    occ += locate_words(all_ids[f], seq, f)
                continue
            norm = self.norms[f]
            if _locate is not None:
                occ += _locate(norm, needle, whole, nwords, f)
                continue
            find = norm.find
            count = norm.count
            breaks = "  " in norm
            word = 0  # index of the word after position `last`
            sentence = 0
            last = 0
            at = find(needle)
            while at >= 0:
                if whole and norm[at + size] != " ":
                    at = find(needle, at + 1)
                    continue
                # the pattern's leading space precedes its word; each break adds one more
                # space, which is not a word
                spaces = count(" ", last, at)
                if breaks:
                    doubles = count("  ", last, at + 1)
                    spaces -= doubles
                    sentence += doubles
                word += spaces
                last = at
                occ.append((f, word, word + nwords, sentence))
                at = find(needle, at + 1)
        if term.exact is not None:
            occ = [o for o in occ if self._case_ok(term, o)]
        self._occ[term_id] = occ
        return occ

    def _case_ok(self, term: Term, occ: Occ) -> bool:
        assert term.exact is not None
        f, first, _end, _sentence = occ
        text = self.texts[f]
        last = len(term.exact) - 1
        for k, wanted in enumerate(term.exact):
            start, end = self.span(f, first + k)
            if not case_matches(case_key(text[start:end]), wanted, term.prefix and k == last):
                return False
        return True

    def regex_hits(self, regex_id: int) -> list[tuple[int, int, int]]:
        """(field, start char, end char) of every regex match, non-overlapping, in order."""
        hits = self._regex_hits.get(regex_id)
        if hits is None:
            pattern = self.rs.regexes[regex_id].compiled
            hits = [
                (f, m.start(), m.end())
                for f, text in enumerate(self.texts)
                if text
                for m in pattern.finditer(text)
                if m.end() > m.start()
            ]
            self._regex_hits[regex_id] = hits
        return hits


# ---- evaluation -----------------------------------------------------------------------------


def _true(doc: _Doc, expr: Expr) -> bool:
    if isinstance(expr, Leaf):
        mask = expr.fields
        return any((1 << o[0]) & mask for o in doc.occurrences(expr.term))
    if isinstance(expr, AllOf):
        return all(_true(doc, c) for c in expr.children)
    if isinstance(expr, AnyOf):
        return any(_true(doc, c) for c in expr.children)
    if isinstance(expr, Not):
        return not _true(doc, expr.child)
    if isinstance(expr, Near):
        return bool(_positions(doc, expr))
    mask = expr.fields
    return any((1 << f) & mask for f, _, _ in doc.regex_hits(expr.regex))


# (field, first word, end word, sentence, hits (term, field, first word, end word))
def _holds(doc: _Doc, expr: Expr) -> bool:
    """Whether ``expr`` is true: the same answer as ``_true``, deciding from which fields
    hold each term (``_Doc.present``) instead of locating every occurrence. Only NEAR and
    exact-case terms need positions."""
    if isinstance(expr, Leaf):
        return bool(doc.present(expr.term) & expr.fields)
    if isinstance(expr, AllOf):  # loops, not all(generator): candidates are ~1 µs each
        for c in expr.children:  # noqa: SIM110
            if not _holds(doc, c):
                return False
        return True
    if isinstance(expr, AnyOf):
        for c in expr.children:  # noqa: SIM110
            if _holds(doc, c):
                return True
        return False
    if isinstance(expr, Not):
        return not _holds(doc, expr.child)
    if isinstance(expr, Near):
        return _near_holds(doc, expr)
    mask = expr.fields
    return any((1 << f) & mask for f, _, _ in doc.regex_hits(expr.regex))


def _near_holds(doc: _Doc, expr: Near) -> bool:
    """Whether some occurrence of one side is near one of the other, stopping at the first
    pair found: the same answer as ``bool(_positions(doc, expr))`` without the hit lists."""
    if not _fields_of(doc, expr.left) & _fields_of(doc, expr.right):
        return False  # the usual answer, from the scan's seen sets or one find per field
    left = _spans(doc, expr.left)
    if not left:
        return False
    right = _spans(doc, expr.right)
    if not right:
        return False
    n = expr.distance
    by_sentence: dict[tuple[int, int], list[Occ]] = {}
    for p in right:
        by_sentence.setdefault((p[0], p[3]), []).append(p)
    for fa, sa, ea, na in left:
        for _, sb, eb, _ in by_sentence.get((fa, na), ()):
            if max(sb - ea, sa - eb) <= n:
                return True
    return False


def _fields_of(doc: _Doc, expr: Expr) -> int:
    """Bit mask of the fields where a positional expression may hold (exact for terms, an
    upper bound for NEAR): a cheap test before occurrences are located."""
    if isinstance(expr, Leaf):
        return doc.present(expr.term) & expr.fields
    if isinstance(expr, AnyOf):
        bits = 0
        for c in expr.children:
            bits |= _fields_of(doc, c)
        return bits
    if isinstance(expr, Near):
        return _fields_of(doc, expr.left) & _fields_of(doc, expr.right)
    return 1 << len(FIELDS) - 1 | (1 << len(FIELDS) - 1) - 1  # not positional: no bound


def _spans(doc: _Doc, expr: Expr) -> list[Occ]:
    """(field, first word, end word, sentence) of a positional expression, without hits."""
    if isinstance(expr, Leaf):
        mask = expr.fields
        return [o for o in doc.occurrences(expr.term) if (1 << o[0]) & mask]
    if isinstance(expr, AnyOf):
        return [p for c in expr.children for p in _spans(doc, c)]
    return [p[:4] for p in _positions(doc, expr)]


def _group(pairs: array[int]) -> dict[int, tuple[int, ...]]:
    """(key << 32 | value) pairs -> {key: sorted distinct values}."""
    out: dict[int, tuple[int, ...]] = {}
    key = -1
    values: list[int] = []
    for pair in sorted(set(pairs)):
        if pair >> 32 != key:
            if values:
                out[key] = tuple(values)
            key = pair >> 32
            values = []
        values.append(pair & 0xFFFFFFFF)
    if values:
        out[key] = tuple(values)
    return out


def _indexed(table: dict[int, tuple[int, ...]], n: int) -> list[tuple[int, ...] | int | None]:
    """``table`` (keys below ``n``) as a list: ``out[key]`` is ``table.get(key)``, a tuple of
    one as its item (``gather`` takes both; most patterns have one rule, and the tuple was
    one more cache miss)."""
    out: list[tuple[int, ...] | int | None] = [None] * n
    for key, value in table.items():
        out[key] = value[0] if len(value) == 1 else value
    return out


Plan = tuple[tuple[int, int, bool], ...]


def _plan(expr: Expr, terms: Sequence[Term], term_pattern: Sequence[int]) -> Plan | None:
    """For an AND whose children are terms or NOT terms (none exact-case), the steps
    (pattern, field mask, whether the pattern must occur in those fields), in the children's
    order: the rule holds when every step does. None for any other rule."""
    if not isinstance(expr, AllOf):
        return None
    steps: list[tuple[int, int, bool]] = []
    for child in expr.children:
        want = True
        if isinstance(child, Not):
            child, want = child.child, False
        if not isinstance(child, Leaf) or terms[child.term].exact is not None:
            return None
        steps.append((term_pattern[child.term], child.fields, want))
    return tuple(steps)


def _near_terms(expr: Expr, under_near: bool, out: set[int]) -> None:
    """Add to ``out`` the terms of the leaves of ``expr`` that are under a NEAR."""
    if isinstance(expr, Leaf):
        if under_near:
            out.add(expr.term)
    elif isinstance(expr, Near):
        _near_terms(expr.left, True, out)
        _near_terms(expr.right, True, out)
    elif isinstance(expr, AllOf | AnyOf):
        for child in expr.children:
            _near_terms(child, under_near, out)
    elif isinstance(expr, Not):
        _near_terms(expr.child, under_near, out)


def _plain_leaves(expr: Expr, terms: Sequence[Term]) -> list[Leaf] | None:
    """The leaves of a rule that is a term or an OR of terms, none exact-case: such a rule
    fires exactly when one of its (scanned) patterns is seen in one of its leaf's fields, so
    the scan alone decides it. None for any other rule."""
    if isinstance(expr, Leaf):
        return [expr] if terms[expr.term].exact is None else None
    if isinstance(expr, AnyOf):
        out: list[Leaf] = []
        for child in expr.children:
            sub = _plain_leaves(child, terms)
            if sub is None:
                return None
            out += sub
        return out
    return None


_Pos = tuple[int, int, int, int, tuple[tuple[int, int, int, int], ...]]


def _positions(doc: _Doc, expr: Expr) -> list[_Pos]:
    """Word positions of a positional expression (a term, an OR of them, or a NEAR)."""
    if isinstance(expr, Leaf):
        mask = expr.fields
        t = expr.term
        return [
            (f, s, e, n, ((t, f, s, e),)) for f, s, e, n in doc.occurrences(t) if (1 << f) & mask
        ]
    if isinstance(expr, AnyOf):
        return [p for c in expr.children for p in _positions(doc, c)]
    if isinstance(expr, Near):
        left = _positions(doc, expr.left)
        if not left:
            return []
        right = _positions(doc, expr.right)
        n = expr.distance
        out: list[_Pos] = []
        for fa, sa, ea, na, ha in left:
            for fb, sb, eb, nb, hb in right:
                # same field and sentence: NEAR does not reach across a sentence break
                if fa == fb and na == nb and max(sb - ea, sa - eb) <= n:
                    out.append((fa, min(sa, sb), max(ea, eb), na, ha + hb))
        return out
    raise AssertionError(f"not a positional expression: {expr!r}")  # compile() forbids it


def _collect(doc: _Doc, expr: Expr, words: set[tuple[int, int, int, int]], chars: set[Any]) -> None:
    """Hits of every non-negated term that occurs (NEAR: only the occurrences that are near)."""
    if isinstance(expr, Leaf | Near):
        for pos in _positions(doc, expr):
            words.update(pos[4])
    elif isinstance(expr, AllOf | AnyOf):
        for c in expr.children:
            _collect(doc, c, words, chars)
    elif isinstance(expr, RegexLeaf):
        mask = expr.fields
        for f, s, e in doc.regex_hits(expr.regex):
            if (1 << f) & mask:
                chars.add((expr.regex, f, s, e))


class RuleSet:
    """An immutable, compiled set of rules. Build it with ``rules.compile_ruleset``."""

    def __init__(
        self,
        compiled: Iterable[CompiledRule] = (),
        terms: Sequence[Term] = (),
        regexes: Sequence[RegexSpec] = (),
        scan_all_terms: bool = False,
        word_scanner: bool | None = None,
        warnings: Sequence[str] = (),
    ) -> None:
        """``scan_all_terms``: put every term in the automaton, not only the trigger terms
        (same results, slower on articles full of confirming terms; kept for comparison).
        ``word_scanner``: see ``wordscan.build_scanner`` (None: the fastest available).
        ``warnings``: the compiler's located notes on valid but doubtful rules (for
        ``rules check``; matching ignores them)."""
        self.warnings: tuple[str, ...] = tuple(warnings)
        self._compiled: tuple[CompiledRule, ...] = tuple(compiled)
        self.terms: tuple[Term, ...] = tuple(terms)
        self.regexes: tuple[RegexSpec, ...] = tuple(regexes)
        self._by_id = {r.info.id: r for r in self._compiled}
        # one automaton pattern per distinct normalised string; several terms may share it
        # ("US" and "=US" both scan for " us ")
        patterns: dict[str, int] = {}
        term_pattern: list[int] = []
        for term in self.terms:
            term_pattern.append(patterns.setdefault(term.pattern, len(patterns)))
        self._patterns: list[str] = list(patterns)
        # What str.find looks for: the pattern without its trailing space (the hit's next
        # character is checked instead). str.find skips ahead by the needle's last
        # character, and a space, which is every sixth character of the text, allows
        # almost no skip: " east sea " took ~12 µs to find in a 5 KB text, " east sea" ~2.
        self._needles: list[str] = [p[:-1] if p.endswith(" ") else p for p in self._patterns]
        self._term_pattern = term_pattern
        # Deciding: most rules of a large set are a phrase or an OR of phrases, decided by
        # the scan alone: sure[f][pattern] lists the rules that fire when the pattern is seen
        # in field f. The others are candidates when one of their trigger patterns is seen,
        # and are evaluated (``_holds``).
        # (pattern << 32 | rule) pairs, grouped at the end: one tuple per pattern rather
        # than a set or list per pattern while building (fewer objects for the collector)
        check = array("q")
        sure_all = array("q")
        sure_field: list[array[int]] = [array("q") for _ in FIELDS]
        always: list[int] = []
        triggered: set[int] = set()
        near_terms: set[int] = set()  # terms under a NEAR: their occurrences are located
        # AND of (possibly negated) plain terms, the usual candidate: (pattern, fields,
        # wanted) steps that decide() runs inline instead of walking the expression
        plans: dict[int, tuple[tuple[int, int, bool], ...]] = {}
        terms_ = self.terms
        for index, rule in enumerate(self._compiled):
            trig = triggers(rule.expr)
            if trig is None:
                always.append(index)
                continue
            pids = [term_pattern[t] for t in trig]
            triggered.update(pids)
            leaves = _plain_leaves(rule.expr, terms_)
            if leaves is None:
                check.extend([pid << 32 | index for pid in pids])
                _near_terms(rule.expr, False, near_terms)
                plan = _plan(rule.expr, terms_, term_pattern)
                if plan is not None:
                    plans[index] = plan
                continue
            for leaf in leaves:
                key = term_pattern[leaf.term] << 32 | index
                if leaf.fields == ALL_FIELDS_MASK:
                    sure_all.append(key)
                else:
                    for f in range(len(FIELDS)):
                        if leaf.fields >> f & 1:
                            sure_field[f].append(key)
        self._pattern_rules = _group(check)
        self._sure_all = _group(sure_all)
        self._sure = [_group(pairs) for pairs in sure_field]
        self._index_tables()
        self._check_patterns = frozenset(self._pattern_rules)
        self._trigger_patterns = frozenset(triggered)
        self._always: tuple[int, ...] = tuple(always)
        self._plans = plans
        self._limited = frozenset(i for i, r in enumerate(self._compiled) if r.feeds or r.feed_tags)
        # the pairs and the set above are ~10 MB at 100,000 rules: gone before the automaton's
        # tables are built, where compiling peaks
        del check, sure_all, sure_field, triggered
        # The automaton holds the trigger terms: seeing one makes its rules candidates.
        # Terms that only confirm a candidate (the other side of an AND or NEAR, NOT terms)
        # are found with str.find in the candidate's article when it is evaluated, so their
        # occurrences cost nothing on the many articles where no rule needs them.
        scanned = range(len(self._patterns)) if scan_all_terms else sorted(self._trigger_patterns)
        self._scanned = frozenset(scanned)
        scan_patterns = {pid: self._patterns[pid] for pid in scanned}
        # With the C automaton, the words of the confirming phrases (whole words, not
        # scanned) join its vocabulary, and the scan gives each word's id: a confirming
        # phrase is then looked for as a run of ids (``has_words``, ``locate_words``: a few
        # hundred int compares) rather than with str.find over the text.
        self._seq: dict[int, bytes] = {}  # pattern -> int32 word ids
        self._extra_words: tuple[str, ...] = ()
        use_words = WORD_SCANNER if word_scanner is None else word_scanner
        if use_words and scan_patterns:
            patterns_ = self._patterns
            confirm = [
                pid
                for pid in range(len(patterns_))
                if pid not in self._scanned and patterns_[pid].endswith(" ")
            ]
            extra = tuple(dict.fromkeys(w for pid in confirm for w in patterns_[pid].split()))
            # scanned patterns under a NEAR are located by ids too (their words are the
            # automaton's already)
            near_pids = {term_pattern[t] for t in near_terms}
            confirm += sorted(
                pid for pid in near_pids if pid in self._scanned and patterns_[pid].endswith(" ")
            )
            tables = word_automaton_tables(scan_patterns, extra)
            del scan_patterns
            self._scanner: Scanner = word_automaton_from_tables(tables)
            words = tables[0]
            del tables  # the C automaton holds its own copy
            vocabulary = {w: i for i, w in enumerate(words)}
            for pid in confirm:
                seq = word_ids(patterns_[pid].split(), vocabulary)
                if seq is not None:
                    self._seq[pid] = seq
            self._extra_words = extra
        else:
            self._scanner = build_scanner(scan_patterns, words=word_scanner)

    def _index_tables(self) -> None:
        """``_sure_all`` and ``_pattern_rules`` as lists indexed by pattern (None where a
        pattern has no rule), which ``decide`` reads: at 100,000 rules a list item is one
        memory access where a dictionary probe was two (both tables are ~100,000 entries,
        far out of the cache). Derived, not packed: ``rules.loader`` calls this too."""
        n = len(self._patterns)
        self._sure_list = _indexed(self._sure_all, n)
        self._check_list = _indexed(self._pattern_rules, n)
        # (field, table) of the fields some rule is limited to (usually none)
        self._field_sure = [(f, table) for f, table in enumerate(self._sure) if table]
        # rule index -> what near_words needs to decide it, or () (``_near_spec``); filled
        # as NEAR rules become candidates
        self._near_specs: dict[int, tuple[int, bytes, bytes, int] | tuple[()]] = {}

    def _near_spec(self, expr: Near) -> tuple[int, bytes, bytes, int] | tuple[()]:
        """(common fields, word ids of each side, distance) for a NEAR of two whole-word
        phrases (no exact case) that the scan gives word ids for, which ``near_words``
        decides as ``_near_holds`` does; () for any other NEAR."""
        left, right = expr.left, expr.right
        if type(left) is not Leaf or type(right) is not Leaf:
            return ()
        terms = self.terms
        if terms[left.term].exact is not None or terms[right.term].exact is not None:
            return ()
        seq_l = self._seq.get(self._term_pattern[left.term])
        seq_r = self._seq.get(self._term_pattern[right.term])
        if seq_l is None or seq_r is None:
            return ()
        return (left.fields & right.fields, seq_l, seq_r, expr.distance)

    @classmethod
    def empty(cls) -> RuleSet:
        return cls()

    @property
    def rules(self) -> tuple[RuleInfo, ...]:
        """What users see of each rule, in file order."""
        return tuple(r.info for r in self._compiled)

    @property
    def compiled_rules(self) -> tuple[CompiledRule, ...]:
        return self._compiled

    def get(self, rule_id: str) -> RuleInfo | None:
        rule = self._by_id.get(rule_id)
        return rule.info if rule else None

    def compiled(self, rule_id: str) -> CompiledRule | None:
        return self._by_id.get(rule_id)

    def __len__(self) -> int:
        return len(self._compiled)

    def decide(self, article: Article, feed_tags: Sequence[str] = ()) -> Decision:
        """Which rules fire on ``article``, without their hits (see ``Decision``).

        ``feed_tags`` are the tags of the article's feed (for rules limited by ``feed_tags``).
        Costs the fold and the scan, plus an evaluation for each candidate that is not a plain
        phrase or OR of phrases; no occurrence is located unless a NEAR or an exact-case term
        needs it. The fired rules are put in rule order when first asked for (``rule_ids``,
        ``matches``), not here.
        """
        if not self._compiled:
            return Decision(self, None, ())
        doc = _Doc(self, [article.title or "", article.summary or "", article.content or ""])
        seen = doc.seen
        *others, union = seen  # the content's set is the largest: copied, not rebuilt
        union = union.copy()
        for seen_f in others:
            union |= seen_f
        fired: set[int] = set()
        candidates: set[int] = set(self._always)
        if union:
            gather(union, self._sure_list, fired)
            for f, table in self._field_sure:
                if seen[f]:
                    gather(seen[f], table, fired)
            gather(union, self._check_list, candidates)
        if candidates:
            self._evaluate(doc, candidates, union, fired)
        limited = self._limited
        if limited and not fired.isdisjoint(limited):
            fired = {
                i
                for i in fired
                if i not in limited or self._compiled[i].applies_to(article, feed_tags)
            }
        return Decision(self, doc, fired)

    def _evaluate(self, doc: _Doc, candidates: set[int], union: set[int], fired: set[int]) -> None:
        """Add to ``fired`` the candidates (not decided by the scan alone) that hold: the AND
        plans in one call (``wordscan.eval_plans``: a step's fields from the seen sets, the
        word ids or ``pattern_fields``), then the others (a NEAR of two phrases by word ids,
        the rest by walking the expression)."""
        ids = doc.ids
        rest = eval_plans(
            candidates, self._plans, union, doc.seen, ids, self._seq, doc.pattern_fields, fired
        )
        if not rest:
            return
        compiled = self._compiled
        near_specs = self._near_specs
        for index in rest:
            expr = compiled[index].expr
            if type(expr) is Near and ids is not None:
                spec = near_specs.get(index)
                if spec is None:
                    spec = near_specs[index] = self._near_spec(expr)
                if spec:  # two phrases by word ids: one C call
                    if near_words(ids, *spec):  # type: ignore[misc]
                        fired.add(index)
                    continue
            if _holds(doc, expr):
                fired.add(index)

    def match(self, article: Article, feed_tags: Sequence[str] = ()) -> list[RuleMatch]:
        """The rules that fire on ``article``, in rule order, each with its hits:
        ``decide(article, feed_tags).matches()``. Where only some fired rules are delivered,
        ``decide`` and ``Decision.matches(ids)`` save locating the others' hits.

        Hits are sorted by field (title, summary, content), then offset.
        """
        return self.decide(article, feed_tags).matches()

    def hits_for(
        self, article: Article, rule_ids: Iterable[str], *, if_true: bool = True
    ) -> dict[str, tuple[Hit, ...]]:
        """The hits of the rules ``rule_ids`` on ``article``, computed now: what
        ``match(article)`` gives those rules, for matches stored without their hits (the
        pipeline locates hits only for rules somebody subscribes to).

        Feed limits are not checked (the match was decided already). ``if_true``: only the
        rules whose expression holds on ``article`` (a rule that no longer does gets no
        entry); False: every known rule's hits of the terms that occur, as the hits of a
        rule that holds are found (for an article of which only some fields are at hand:
        hits are per field, so the fields given get the same hits as the whole article's).
        Ids not in this set get no entry."""
        compiled = [r for r in map(self._by_id.get, dict.fromkeys(rule_ids)) if r is not None]
        if not compiled:
            return {}
        doc = _Doc(self, [article.title or "", article.summary or "", article.content or ""])
        return {
            rule.info.id: self._hits(doc, rule.expr)
            for rule in compiled
            if not if_true or _holds(doc, rule.expr)
        }

    def _hits(self, doc: _Doc, expr: Expr) -> tuple[Hit, ...]:
        words: set[tuple[int, int, int, int]] = set()
        chars: set[tuple[int, int, int, int]] = set()
        _collect(doc, expr, words, chars)
        terms = self.terms
        found: set[tuple[int, int, int, str]] = set()  # (field, start, end, term): sorts right
        words_span = doc.words_span
        for term_id, f, first, end in words:
            start, stop = words_span(f, first, end)
            found.add((f, start, stop, terms[term_id].display))
        for regex_id, f, start, stop in chars:
            found.add((f, start, stop, self.regexes[regex_id].source))
        return tuple([Hit(term, FIELDS[f], start, stop) for f, start, stop, term in sorted(found)])


class Decision:
    """The rules that fire on one article (``RuleSet.decide``), hits computed on demand.

    ``rule_ids`` are the fired rules in rule order. ``matches(ids)`` locates the hits (offsets
    in the original text) of the fired rules among ``ids`` only, e.g. the ones delivered to
    somebody; the article's normalised fields are kept for that, so a ``Decision`` should
    not outlive the handling of its article.
    """

    __slots__ = ("_doc", "_fired", "_order", "_rs")

    def __init__(self, rs: RuleSet, doc: _Doc | None, fired: set[int] | tuple[int, ...]) -> None:
        """``fired``: the indexes of the fired rules, in any order (sorted on first need)."""
        self._rs = rs
        self._doc = doc
        self._fired = fired
        self._order: tuple[int, ...] | None = None

    def _in_order(self) -> tuple[int, ...]:
        order = self._order
        if order is None:  # ~13 µs for 235 fired rules: not paid by callers that only count
            order = self._order = tuple(sorted(self._fired))
        return order

    @property
    def rule_ids(self) -> tuple[str, ...]:
        compiled = self._rs._compiled
        return tuple([compiled[i].info.id for i in self._in_order()])

    def __len__(self) -> int:
        return len(self._fired)

    def __bool__(self) -> bool:
        return bool(self._fired)

    def explained(self, rule_ids: Container[str]) -> list[RuleMatch]:
        """Every fired rule as a ``RuleMatch``, in rule order; only the rules in ``rule_ids``
        with their hits, the others with none (to be located on demand:
        ``RuleSet.hits_for``)."""
        doc = self._doc
        if doc is None:
            return []
        compiled = self._rs._compiled
        hits = self._rs._hits
        out: list[RuleMatch] = []
        for index in self._in_order():
            rule = compiled[index]
            rule_id = rule.info.id
            out.append(RuleMatch(rule_id, hits(doc, rule.expr) if rule_id in rule_ids else ()))
        return out

    def matches(self, rule_ids: Iterable[str] | None = None) -> list[RuleMatch]:
        """``RuleMatch`` with hits for the fired rules (only those in ``rule_ids`` if given;
        ids that did not fire are ignored), in rule order."""
        doc = self._doc
        if doc is None:
            return []
        compiled = self._rs._compiled
        wanted = None if rule_ids is None else set(rule_ids)
        hits = self._rs._hits
        out: list[RuleMatch] = []
        for index in self._in_order():
            rule = compiled[index]
            if wanted is None or rule.info.id in wanted:
                out.append(RuleMatch(rule.info.id, hits(doc, rule.expr)))
        return out
