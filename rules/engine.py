"""The compiled rule set and the matcher.

Compilation puts every literal term of every rule into one Aho-Corasick automaton over
normalised text (words joined by single spaces, with a space at both ends, so a pattern
" strategic partnership " can only match whole words). Matching an article:

1. normalise each field once (``normalize.scan_form``) and scan it once with the automaton,
   collecting *all* overlapping hits ("strategic partnership" inside "comprehensive strategic
   partnership" is found too);
2. take as candidates only the rules one of whose trigger terms was seen (every rule has a set
   of terms at least one of which must occur for it to match), plus the rare rules that cannot be
   triggered by a literal (a regex is their only positive term);
3. evaluate each candidate's expression on term positions (word indexes per field), and for the
   rules that match, map the positions of their hits back to offsets in the original text.

Offsets in the original text are computed lazily, only for fields that a matching rule (or an
exact-case term) needs. Does no I/O; the rule files are read by ``bot.config.rule_files``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.models import Article, Hit, RuleInfo, RuleMatch

from .normalize import (
    OffsetSource,
    SpanFinder,
    WordOffsets,
    case_key,
    case_matches,
    scan_form,
    word_offsets,
)
from .wordscan import build_scanner

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

    __slots__ = ("_occ", "_parts", "_regex_hits", "_spans", "norms", "rs", "seen", "texts")

    def __init__(self, rs: RuleSet, texts: list[str]) -> None:
        self.rs = rs
        self.texts = texts
        self.norms: list[str] = []
        self.seen: list[set[int]] = []
        self._parts: list[OffsetSource] = []
        scan = rs._scanner.scan
        for text in texts:
            norm, offsets = scan_form(text)
            self._parts.append(offsets)
            self.norms.append(norm)
            self.seen.append(scan(norm))
        self._spans: list[WordOffsets | SpanFinder | None] = [None] * len(texts)
        self._occ: dict[int, list[Occ]] = {}
        self._regex_hits: dict[int, list[tuple[int, int, int]]] = {}

    def span(self, f: int, i: int) -> tuple[int, int]:
        """(start, end) in the original text of word ``i`` of field ``f``."""
        return self.words_span(f, i, i + 1)

    def words_span(self, f: int, first: int, end: int) -> tuple[int, int]:
        """(start, end) in the original text of words ``first`` to ``end - 1`` of field ``f``."""
        finder = self._spans[f]
        if finder is None:
            finder = self._spans[f] = word_offsets(self.texts[f], self._parts[f])
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
        pattern = rs._patterns[pid]
        nwords = len(term.words)
        occ = []
        scanned = pid in rs._scanned
        for f, seen in enumerate(self.seen):
            if scanned and pid not in seen:
                continue
            norm = self.norms[f]
            find = norm.find
            count = norm.count
            breaks = "  " in norm
            word = 0  # index of the word after position `last`
            sentence = 0
            last = 0
            at = find(pattern)
            while at >= 0:
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
                at = find(pattern, at + 1)
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
        self._term_pattern = term_pattern
        pattern_rules: list[set[int]] = [set() for _ in self._patterns]
        always: list[int] = []
        for index, rule in enumerate(self._compiled):
            trig = triggers(rule.expr)
            if trig is None:
                always.append(index)
            else:
                for t in trig:
                    pattern_rules[term_pattern[t]].add(index)
        self._pattern_rules: list[tuple[int, ...]] = [tuple(sorted(s)) for s in pattern_rules]
        self._trigger_patterns = frozenset(p for p, rules in enumerate(pattern_rules) if rules)
        self._always: tuple[int, ...] = tuple(always)
        # The automaton holds the trigger terms: seeing one makes its rules candidates.
        # Terms that only confirm a candidate (the other side of an AND or NEAR, NOT terms)
        # are found with str.find in the candidate's article when it is evaluated, so their
        # occurrences cost nothing on the many articles where no rule needs them.
        scanned = range(len(self._patterns)) if scan_all_terms else sorted(self._trigger_patterns)
        self._scanned = frozenset(scanned)
        self._scanner = build_scanner(
            {pid: self._patterns[pid] for pid in scanned}, words=word_scanner
        )

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

    def match(self, article: Article, feed_tags: Sequence[str] = ()) -> list[RuleMatch]:
        """The rules that fire on ``article``, in rule order, each with its hits.

        ``feed_tags`` are the tags of the article's feed (for rules limited by ``feed_tags``).
        Hits are sorted by field (title, summary, content), then offset.
        """
        if not self._compiled:
            return []
        fields = article.text_fields
        doc = _Doc(self, [fields.get(name) or "" for name in FIELDS])
        candidates: set[int] = set(self._always)
        pattern_rules = self._pattern_rules
        seen = doc.seen
        for pid in set().union(*seen) & self._trigger_patterns:
            candidates.update(pattern_rules[pid])
        out: list[RuleMatch] = []
        for index in sorted(candidates):
            rule = self._compiled[index]
            if not rule.applies_to(article, feed_tags) or not _true(doc, rule.expr):
                continue
            out.append(RuleMatch(rule.info.id, self._hits(doc, rule.expr)))
        return out

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
