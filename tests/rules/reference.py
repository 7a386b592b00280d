"""A naive reference evaluator for compiled rules: the meaning of the language, written plainly.

No automaton, no candidate selection, no lazy offsets, no fast normalisation path: each term
is looked for by walking the word list of each field (from the slow, offset-keeping tokenizer)
and each rule's expression is evaluated directly. Sentences: a phrase may not contain a
sentence break (``sentence_breaks``, the per-character definition) and both sides of a NEAR
must be in the same sentence. The property test checks that
``RuleSet.match`` returns exactly what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.models import Article, Hit, RuleMatch
from rules import FIELDS, RuleSet
from rules.engine import AllOf, AnyOf, Expr, Leaf, Near, Not, RegexLeaf, Term
from rules.normalize import Token, case_key, case_matches, sentence_breaks, tokens_with_spans

Occ = tuple[int, int, int]  # field, first word, end word


def _term_occurrences(
    term: Term, texts: list[str], words: list[list[Token]], breaks: list[tuple[int, ...]]
) -> list[Occ]:
    out: list[Occ] = []
    n = len(term.words)
    last = n - 1
    for f, toks in enumerate(words):
        for i in range(len(toks) - n + 1):
            if any(i < b < i + n for b in breaks[f]):
                continue  # a phrase does not match across a sentence break
            ok = True
            for k, wanted in enumerate(term.words):
                word = toks[i + k].word
                ok = word.startswith(wanted) if term.prefix and k == last else word == wanted
                if ok and term.exact is not None:
                    tok = toks[i + k]
                    original = case_key(texts[f][tok.start : tok.end])
                    ok = case_matches(original, term.exact[k], term.prefix and k == last)
                if not ok:
                    break
            if ok:
                out.append((f, i, i + n))
    return out


class _Ref:
    def __init__(self, rs: RuleSet, article: Article) -> None:
        self.rs = rs
        self.texts = [article.text_fields[name] or "" for name in FIELDS]
        self.words = [tokens_with_spans(t) for t in self.texts]
        self.breaks = [sentence_breaks(t) for t in self.texts]

    def sentence(self, f: int, word: int) -> int:
        return sum(1 for b in self.breaks[f] if b <= word)

    def occ(self, leaf: Leaf) -> list[Occ]:
        found = _term_occurrences(self.rs.terms[leaf.term], self.texts, self.words, self.breaks)
        return [o for o in found if leaf.fields >> o[0] & 1]

    def regex(self, leaf: RegexLeaf) -> list[tuple[int, int, int]]:
        pattern = self.rs.regexes[leaf.regex].compiled
        return [
            (f, m.start(), m.end())
            for f, text in enumerate(self.texts)
            if leaf.fields >> f & 1
            for m in pattern.finditer(text)
            if m.end() > m.start()
        ]

    def holds(self, e: Expr) -> bool:
        if isinstance(e, Leaf):
            return bool(self.occ(e))
        if isinstance(e, RegexLeaf):
            return bool(self.regex(e))
        if isinstance(e, Not):
            return not self.holds(e.child)
        if isinstance(e, AllOf):
            return all(self.holds(c) for c in e.children)
        if isinstance(e, AnyOf):
            return any(self.holds(c) for c in e.children)
        return bool(self.near(e))

    def near(self, e: Expr) -> list[tuple[int, int, int, frozenset[tuple[int, int, int, int]]]]:
        """Spans of a positional expression with the term occurrences that make them."""
        if isinstance(e, Leaf):
            return [(f, s, t, frozenset({(e.term, f, s, t)})) for f, s, t in self.occ(e)]
        if isinstance(e, AnyOf):
            return [x for c in e.children for x in self.near(c)]
        assert isinstance(e, Near)
        out = []
        for fa, sa, ea, ha in self.near(e.left):
            for fb, sb, eb, hb in self.near(e.right):
                if ea <= sb:  # a then b: the words strictly between them
                    between = sb - ea
                elif eb <= sa:  # b then a
                    between = sa - eb
                else:  # they overlap
                    between = 0
                same_sentence = self.sentence(fa, sa) == self.sentence(fb, sb)
                if fa == fb and same_sentence and between <= e.distance:
                    out.append((fa, min(sa, sb), max(ea, eb), ha | hb))
        return out

    def hits(self, e: Expr, out: set[Hit]) -> None:
        if isinstance(e, Not):
            return
        if isinstance(e, AllOf | AnyOf):
            for c in e.children:
                self.hits(c, out)
            return
        if isinstance(e, RegexLeaf):
            source = self.rs.regexes[e.regex].source
            out.update(Hit(source, FIELDS[f], s, t) for f, s, t in self.regex(e))
            return
        for _, _, _, occs in self.near(e):
            for term, f, s, t in occs:
                toks = self.words[f]
                display = self.rs.terms[term].display
                out.add(Hit(display, FIELDS[f], toks[s].start, toks[t - 1].end))


def reference_match(
    rs: RuleSet, article: Article, feed_tags: Sequence[str] = ()
) -> list[RuleMatch]:
    ref = _Ref(rs, article)
    out: list[RuleMatch] = []
    for rule in rs.compiled_rules:
        if rule.feeds or rule.feed_tags:
            in_feed = article.feed_url in rule.feeds or (article.feed_name or "") in rule.feeds
            if not in_feed and not set(feed_tags) & rule.feed_tags:
                continue
        if not ref.holds(rule.expr):
            continue
        hits: set[Hit] = set()
        ref.hits(rule.expr, hits)
        ordered = sorted(hits, key=lambda h: (FIELDS.index(h.field), h.start, h.end, h.term))
        out.append(RuleMatch(rule.info.id, tuple(ordered)))
    return out
