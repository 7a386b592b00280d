"""The prefilter: from compiled rules, a condition on an article's folded words that every
article they fire on satisfies (``word_condition``), and the stored articles that meet it, by
the word index, newest first (``candidates``). Decides nothing itself: the engine does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol, TypeGuard

from rules import RuleSet
from rules.engine import ALL_FIELDS_MASK, AllOf, AnyOf, Expr, Leaf, Near, Not, RegexLeaf
from storage.console import StoredArticle
from storage.words import (
    MAX_QUERY_DEPTH,
    MAX_QUERY_TOKENS,
    AllWords,
    AnyWords,
    Word,
    WordCondition,
    count_tokens,
    decides_exactly,
    depth,
)

FETCH_FIRST, FETCH_BATCH = 40, 200  # candidate articles read per query: first, at most
FIRST_CHUNK, MAX_CHUNK = 500, 32_000  # candidate ids asked of the index at a time


class IndexedArticles(Protocol):
    """What the prefilter needs from storage (``SqlStorage`` provides it, through
    ``storage.console.ConsoleQueries``); a storage without it is scanned."""

    def articles_newest_first(
        self,
        *,
        before_id: int | None = None,
        since: datetime | None = None,
        batch: int = 500,
        language: str | None = None,
    ) -> AsyncIterator[StoredArticle]: ...

    async def word_candidates(
        self,
        cond: WordCondition,
        *,
        before_id: int | None = None,
        since: datetime | None = None,
        language: str | None = None,
        limit: int | None = None,
    ) -> list[int]: ...

    async def articles_by_ids(self, ids: Sequence[int]) -> list[StoredArticle]: ...

    async def count_word_matches(
        self, cond: WordCondition, *, since: datetime | None = None, language: str | None = None
    ) -> int: ...

    async def pending_word_ids(
        self, *, since: datetime | None = None, language: str | None = None
    ) -> list[int]: ...

    async def count_articles(
        self, *, since: datetime | None = None, published_since: datetime | None = None
    ) -> int: ...


_INDEXED_METHODS = (
    "articles_newest_first",
    "word_candidates",
    "articles_by_ids",
    "count_articles",
    "count_word_matches",
    "pending_word_ids",
)


def has_word_index(storage: object) -> TypeGuard[IndexedArticles]:
    """Whether ``storage``'s class provides ``IndexedArticles`` (read from the class, so a
    test fake's catch-all ``__getattr__`` does not count)."""
    return all(callable(getattr(type(storage), name, None)) for name in _INDEXED_METHODS)


# ---- the prefilter -------------------------------------------------------------------------


def _condition(expr: Expr, rules: RuleSet) -> WordCondition | None:
    """A word condition ``expr`` implies; None when there is none to give (no restriction)."""
    if isinstance(expr, Leaf):
        term = rules.terms[expr.term]
        words = [Word(w) for w in term.words[:-1]]
        words.append(Word(term.words[-1], term.prefix))
        return words[0] if len(words) == 1 else AllWords(tuple(words))
    if isinstance(expr, RegexLeaf | Not):
        return None
    if isinstance(expr, AnyOf):
        parts = [_condition(child, rules) for child in expr.children]
        if any(p is None for p in parts):
            return None  # one side needs nothing: neither does the OR
        return _join(AnyWords, [p for p in parts if p is not None])
    children = (expr.left, expr.right) if isinstance(expr, Near) else expr.children
    assert isinstance(expr, Near | AllOf)
    needed = [c for c in (_condition(child, rules) for child in children) if c is not None]
    return _join(AllWords, needed) if needed else None


def _join(kind: type[AllWords] | type[AnyWords], parts: list[WordCondition]) -> WordCondition:
    flat: list[WordCondition] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, kind) else (part,))
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else kind(unique)


def word_condition(rules: RuleSet, rule_ids: Sequence[str]) -> WordCondition | None:
    """A condition on an article's folded words that holds whenever one of ``rule_ids`` fires
    (a necessary condition, never sufficient); None when some rule allows no such condition
    (only regexes or NOT), or it would be too large (or too deeply nested) to ask the index."""
    by_id = {r.info.id: r for r in rules.compiled_rules}
    parts: list[WordCondition] = []
    for rule_id in rule_ids:
        rule = by_id.get(rule_id)
        if rule is None:
            continue
        cond = _condition(rule.expr, rules)
        if cond is None:
            return None
        parts.append(cond)
    if not parts:
        return None
    joined = _join(AnyWords, parts)
    if count_tokens(joined) > MAX_QUERY_TOKENS or depth(joined) > MAX_QUERY_DEPTH:
        return None
    return joined


def _exact(expr: Expr, rules: RuleSet) -> bool:
    """Whether ``expr`` holds exactly when its word condition does: ANDs and ORs of single
    whole words (no phrase, prefix, exact case, NOT, NEAR, regex) over all three fields."""
    if isinstance(expr, Leaf):
        term = rules.terms[expr.term]
        return (
            expr.fields == ALL_FIELDS_MASK
            and len(term.words) == 1
            and not term.prefix
            and term.exact is None
            and decides_exactly(term.words[0])
        )
    if isinstance(expr, AllOf | AnyOf):
        return all(_exact(child, rules) for child in expr.children)
    return False


def exact_conditions(rules: RuleSet, rule_ids: Sequence[str]) -> dict[str, WordCondition] | None:
    """For each of ``rule_ids``, a word condition that holds exactly when the rule fires, so
    the index can count its matches without the engine; None unless every rule allows it
    (``_exact``, and no ``feeds`` / ``feed_tags`` limit, which the index does not know)."""
    by_id = {r.info.id: r for r in rules.compiled_rules}
    out: dict[str, WordCondition] = {}
    for rule_id in rule_ids:
        rule = by_id.get(rule_id)
        if rule is None or rule.feeds or rule.feed_tags or not _exact(rule.expr, rules):
            return None
        cond = _condition(rule.expr, rules)
        if cond is None:
            return None
        out[rule_id] = cond
    return out or None


async def _by_ids(source: IndexedArticles, ids: Sequence[int]) -> AsyncIterator[StoredArticle]:
    # small reads first: a common word's page of hits lies in its first few dozen candidates
    i, size = 0, FETCH_FIRST
    while i < len(ids):
        for stored in await source.articles_by_ids(ids[i : i + size]):
            yield stored
        i, size = i + size, min(size * 2, FETCH_BATCH)


async def candidates(
    source: IndexedArticles,
    cond: WordCondition | None,
    *,
    before_id: int | None = None,
    since: datetime | None = None,
    language: str | None = None,
) -> AsyncIterator[StoredArticle]:
    """The stored articles that may satisfy ``cond`` (all of them when None), newest first."""
    if cond is None:
        async for stored in source.articles_newest_first(
            before_id=before_id, since=since, language=language
        ):
            yield stored
        return
    # in growing chunks: a common word's first page needs only the newest few candidates, a
    # rare word's whole answer fits in the first chunk
    cursor, chunk = before_id, FIRST_CHUNK
    while True:
        ids = await source.word_candidates(
            cond, before_id=cursor, since=since, language=language, limit=chunk
        )
        async for stored in _by_ids(source, ids):
            yield stored
        if len(ids) < chunk:
            return
        cursor, chunk = ids[-1], min(chunk * 4, MAX_CHUNK)
