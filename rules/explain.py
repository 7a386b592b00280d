"""Why a rule did or did not fire on an article, and snippets with the matched words marked.

Used by ``newswatch rules test`` and usable by alert formatting. Pure: takes a rule set and an
article, returns values and text; prints nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.models import Article, Hit

from .engine import FIELDS, AllOf, AnyOf, CompiledRule, Expr, Leaf, Near, Not, RegexLeaf, RuleSet
from .engine import _Doc as Doc
from .engine import _true as holds


@dataclass(frozen=True, slots=True)
class TermReport:
    """One term of a rule: where it was looked for and how often it was found, per field."""

    term: str
    negated: bool
    fields: tuple[str, ...]
    found: tuple[tuple[str, int], ...]  # (field, count) for fields where it occurs

    @property
    def total(self) -> int:
        return sum(n for _, n in self.found)


@dataclass(frozen=True, slots=True)
class Explanation:
    rule: CompiledRule
    fired: bool
    feed_ok: bool  # False: the rule is limited to other feeds / feed tags
    hits: tuple[Hit, ...]
    terms: tuple[TermReport, ...]


def _leaves(expr: Expr, negated: bool, out: list[tuple[Leaf | RegexLeaf, bool]]) -> None:
    if isinstance(expr, Leaf | RegexLeaf):
        out.append((expr, negated))
    elif isinstance(expr, Not):
        _leaves(expr.child, not negated, out)
    elif isinstance(expr, AllOf | AnyOf):
        for child in expr.children:
            _leaves(child, negated, out)
    elif isinstance(expr, Near):
        _leaves(expr.left, negated, out)
        _leaves(expr.right, negated, out)


def explain(
    rules: RuleSet, rule_id: str, article: Article, feed_tags: Sequence[str] = ()
) -> Explanation:
    """Evaluate one rule on ``article`` and report every term it looks for."""
    rule = rules.compiled(rule_id)
    if rule is None:
        raise KeyError(rule_id)
    fields = article.text_fields
    doc = Doc(rules, [fields.get(name) or "" for name in FIELDS])
    feed_ok = rule.applies_to(article, feed_tags)
    fired = feed_ok and holds(doc, rule.expr)
    hits = rules._hits(doc, rule.expr) if fired else ()
    leaves: list[tuple[Leaf | RegexLeaf, bool]] = []
    _leaves(rule.expr, False, leaves)
    reports: list[TermReport] = []
    seen: set[tuple[str, bool, int]] = set()
    for leaf, negated in leaves:
        if isinstance(leaf, Leaf):
            name = rules.terms[leaf.term].display
            where = [o[0] for o in doc.occurrences(leaf.term)]
        else:
            name = rules.regexes[leaf.regex].source
            where = [f for f, _, _ in doc.regex_hits(leaf.regex)]
        key = (name, negated, leaf.fields)
        if key in seen:
            continue
        seen.add(key)
        scope = tuple(n for i, n in enumerate(FIELDS) if leaf.fields >> i & 1)
        counts = tuple(
            (FIELDS[f], where.count(f)) for f in range(len(FIELDS)) if leaf.fields >> f & 1
        )
        reports.append(TermReport(name, negated, scope, tuple(c for c in counts if c[1])))
    return Explanation(rule, fired, feed_ok, hits, tuple(reports))


def snippets(
    text: str,
    hits: Sequence[Hit],
    width: int = 60,
    mark: tuple[str, str] = ("[", "]"),
    limit: int = 3,
    escape: Callable[[str], str] = str,
) -> list[str]:
    """Up to ``limit`` snippets of ``text`` around ``hits`` (one field's), words marked.

    Overlapping hits ("Strategic Partnership" inside "Comprehensive Strategic Partnership")
    are merged into one marked span. Whitespace is collapsed so each snippet is one line.
    ``escape`` is applied to the article's text but not to the markers: pass ``html.escape``
    with ``mark=("<b>", "</b>")`` for Telegram's HTML mode.
    """
    spans: list[list[int]] = []
    for h in sorted(hits, key=lambda h: (h.start, h.end)):
        if spans and h.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], h.end)
        else:
            spans.append([h.start, h.end])
    windows: list[list[int]] = []  # [start, end, first span, last span]
    for i, (s, e) in enumerate(spans):
        lo, hi = max(0, s - width), min(len(text), e + width)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = hi
            windows[-1][3] = i
        else:
            windows.append([lo, hi, i, i])
    out: list[str] = []
    for lo, hi, first, last in windows[:limit]:
        parts: list[str] = ["…" if lo > 0 else ""]
        pos = lo
        for s, e in spans[first : last + 1]:
            parts += [escape(text[pos:s]), mark[0], escape(text[s:e]), mark[1]]
            pos = e
        parts += [escape(text[pos:hi]), "…" if hi < len(text) else ""]
        out.append(" ".join("".join(parts).split()))
    return out
