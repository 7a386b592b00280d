"""Rules and queries replayed over stored articles: ``/search`` and the ``/watch`` preview,
``newswatch search``, the web console's search and rule preview, and ``newswatch rules
backtest`` all run through here.

``compile_query(text)`` checks a query with the rule engine's own parser and compiler, so a
search accepts exactly what a rule file accepts (phrases, AND/OR/NOT, NEAR/n, prefixes, fields,
exact case, RE2 regexes) and a bad query gets the same message as a bad rule, with the column
and a caret line (``QueryProblem``).

**Prefilter, then the engine.** ``word_condition(rules, ids)`` derives from the compiled rules a
condition on an article's words that every article they fire on satisfies: a term needs all
its words (the last one as a prefix for ``partner*``), AND and NEAR need all their sides, OR
any, NOT adds nothing; a regex, or a NOT-only side, cannot be expressed, and a rule made only
of those means "no condition" (a full scan). Words are the engine's own folded words, looked up
in storage's word index (``storage.words``), so plurals, accents and case variants are never
lost: the candidates are a superset of the matches. The real engine then runs on the
candidates only, so results are exactly a full scan's (a property test holds it on both
databases). ``scan`` (newest first, stops at enough hits, a scan limit or a time budget),
``search_stored`` (the total and one page, newest published first) and ``replay_all`` (every
article, what fires now against what fired then) share that path.

Neither formats for Telegram or HTML nor prints.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeGuard

from core.errors import RuleError
from core.models import Article, Hit, RuleMatch
from rules import RuleSet, compile_ruleset
from rules.engine import AllOf, AnyOf, Expr, Leaf, Near, Not, RegexLeaf
from storage.base import Storage
from storage.console import StoredArticle
from storage.words import MAX_QUERY_TOKENS, AllWords, AnyWords, Word, WordCondition, count_tokens

MAX_QUERY_CHARS = 1000
FETCH_FIRST, FETCH_BATCH = 40, 200  # candidate articles read per query: first, at most
FIRST_CHUNK, MAX_CHUNK = 500, 32_000  # candidate ids asked of the index at a time
_QUERY_ID = "query"
_ERROR_RE = re.compile(r"^[^:\n]+:(\d+):(\d+): (.*)$")
# The query sits on line 5 of the wrapper, indented by 6: column c there is column c - 6 here.
_LINE, _INDENT = 5, 6


class QueryProblem(RuleError):
    """A query the rule engine refused: ``message`` (one sentence), ``column`` (from 1, or None),
    ``caret`` (the query and a caret under the column: show it in a monospace block so the
    caret lines up) and ``hint`` (what to try, or None)."""

    def __init__(
        self, message: str, column: int | None, caret: str | None, hint: str | None
    ) -> None:
        where = f"column {column}: " if column is not None else ""
        super().__init__(where + message + (f" ({hint})" if hint else ""))
        self.message = message
        self.column = column
        self.caret = caret
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Found:
    """One stored article the query matched, with the hits that explain why."""

    article: Article
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """``total`` matches among ``scanned`` articles; ``page`` holds the requested slice."""

    total: int
    scanned: int
    page: tuple[Found, ...]


def compile_query(text: str) -> RuleSet:
    """The query ``text`` compiled as a one-rule set; ``QueryProblem`` when it is not valid."""
    query = " ".join(text.split())
    if not query:
        raise QueryProblem("the query is empty", None, None, "give at least one word")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryProblem(
            f"the query is longer than {MAX_QUERY_CHARS} characters", None, None, None
        )
    # A block scalar: the query's text stays exactly as typed, whatever quotes it holds.
    wrapper = (
        f"rules:\n  - id: {_QUERY_ID}\n    name: search\n    query: |-\n{' ' * _INDENT}{query}\n"
    )
    try:
        return compile_ruleset({"search": wrapper})
    except RuleError as e:
        raise _problem(str(e), query) from None


def _problem(error: str, query: str) -> QueryProblem:
    lines = error.split("\n")
    hint = next(
        (ln.strip()[len("hint: ") :] for ln in lines if ln.strip().startswith("hint: ")), None
    )
    m = _ERROR_RE.match(lines[0])
    if m is None or int(m.group(1)) != _LINE:
        return QueryProblem(lines[0], None, None, hint)
    column = max(1, int(m.group(2)) - _INDENT)
    caret = f"{query}\n{' ' * (column - 1)}^"
    return QueryProblem(m.group(3), column, caret, hint)


def _newest_first(found: Found) -> tuple[bool, float]:
    when = found.article.published_at
    return (when is not None, when.timestamp() if when else 0.0)


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

    async def count_articles(
        self, *, since: datetime | None = None, published_since: datetime | None = None
    ) -> int: ...


_INDEXED_METHODS = ("articles_newest_first", "word_candidates", "articles_by_ids", "count_articles")


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
    (only regexes or NOT), or it would be too large to be worth asking the index."""
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
    return joined if count_tokens(joined) <= MAX_QUERY_TOKENS else None


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


# ---- replays -------------------------------------------------------------------------------


@dataclass(slots=True)
class ScanResult:
    """What ``scan`` found: the hits (newest first), per-rule counts, how far it got."""

    hits: list[tuple[StoredArticle, tuple[RuleMatch, ...]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    scanned: int = 0  # articles the engine looked at (the index's candidates, when used)
    complete: bool = True  # False: stopped by stop_at, max_scanned or the time budget
    last_id: int | None = None  # the last article looked at: the next page starts below it
    indexed: bool = False  # the word index chose the articles (else every one was read)


async def scan(
    rules: RuleSet,
    rule_ids: Sequence[str],
    articles: AsyncIterable[StoredArticle],
    feed_tags: Mapping[str, Sequence[str]],
    *,
    keep: int = 25,
    stop_at: int | None = None,
    max_scanned: int = 200_000,
    budget_s: float = 5.0,
) -> ScanResult:
    """Run ``rules`` over ``articles``; keep the first ``keep`` articles that ``rule_ids``
    fire on, count every one, stop after ``stop_at`` hits (None: count them all)."""
    wanted = set(rule_ids)
    result = ScanResult(counts=dict.fromkeys(rule_ids, 0))
    started = time.monotonic()
    async for stored in articles:
        result.scanned += 1
        result.last_id = stored.article_id
        decision = rules.decide(stored.article, feed_tags.get(stored.article.feed_url, ()))
        fired_ids = [r for r in decision.rule_ids if r in wanted] if decision else []
        if fired_ids:
            for rule_id in fired_ids:
                result.counts[rule_id] += 1
            if len(result.hits) < keep:  # hits are located only for the articles kept
                result.hits.append((stored, tuple(decision.matches(fired_ids))))
            if stop_at is not None and len(result.hits) >= stop_at:
                result.complete = False
                break
        if result.scanned % 200 == 0:
            await asyncio.sleep(0)  # matching is CPU work: let the bot's other tasks run
            if result.scanned >= max_scanned or time.monotonic() - started > budget_s:
                result.complete = False
                break
    return result


async def scan_stored(
    source: IndexedArticles,
    rules: RuleSet,
    rule_ids: Sequence[str],
    feed_tags: Mapping[str, Sequence[str]],
    *,
    before_id: int | None = None,
    since: datetime | None = None,
    language: str | None = None,
    use_index: bool = True,
    keep: int = 25,
    stop_at: int | None = None,
    max_scanned: int = 200_000,
    budget_s: float = 5.0,
) -> ScanResult:
    """``scan`` over the stored articles (below ``before_id``, first seen since ``since``, in
    ``language``), newest first, reading only the word index's candidates unless the rules
    allow no word condition (or ``use_index`` is False: the full scan, for comparison)."""
    cond = word_condition(rules, rule_ids) if use_index else None
    articles = candidates(source, cond, before_id=before_id, since=since, language=language)
    result = await scan(
        rules,
        rule_ids,
        articles,
        feed_tags,
        keep=keep,
        stop_at=stop_at,
        max_scanned=max_scanned,
        budget_s=budget_s,
    )
    result.indexed = cond is not None
    return result


async def search_stored(
    storage: Storage,
    text: str,
    *,
    since: datetime | None = None,
    offset: int = 0,
    limit: int = 5,
) -> SearchResult:
    """Evaluate the query ``text`` over the stored articles (published at or after ``since``,
    when given; an article without a date counts as recent) and return the total and the
    results ``offset`` to ``offset + limit``, newest first. ``QueryProblem`` for a bad query.
    ``scanned`` is the number of stored articles in that range, however few the index let the
    engine read."""
    rules = compile_query(text)
    found: list[Found] = []

    def keep(article: Article) -> None:
        matches = rules.match(article)
        if matches:
            found.append(Found(article, matches[0].hits))

    cond = word_condition(rules, [_QUERY_ID])
    if has_word_index(storage) and cond is not None:
        async for stored in candidates(storage, cond):
            published = stored.article.published_at
            if since is None or published is None or published >= since:
                keep(stored.article)
        scanned = await storage.count_articles(published_since=since)
    else:
        scanned = 0
        async for article, _matched in storage.iter_articles():
            published = article.published_at
            if since is not None and published is not None and published < since:
                continue
            scanned += 1
            keep(article)
    found.sort(key=_newest_first, reverse=True)
    return SearchResult(len(found), scanned, tuple(found[offset : offset + limit]))


async def replay_all(
    archive: ArticleArchive,
    rules: RuleSet,
    rule_ids: Sequence[str],
    feed_tags: Mapping[str, Sequence[str]],
) -> AsyncIterator[tuple[Article, frozenset[str], frozenset[str]]]:
    """Every stored article with the rules of ``rule_ids`` that fire on it now (decided, no
    hits located) and those that fired when it was stored: the backtest's replay. With the
    word index, articles outside its candidates are known not to fire and are not matched
    (newest first); otherwise every article is matched, in storage order."""
    wanted = frozenset(rule_ids)
    if has_word_index(archive):
        cond = word_condition(rules, rule_ids)
        chosen = None if cond is None else set(await archive.word_candidates(cond))  # all
        async for stored in archive.articles_newest_first():
            article = stored.article
            if chosen is not None and stored.article_id not in chosen:
                now: frozenset[str] = frozenset()
            else:
                decided = rules.decide(article, feed_tags.get(article.feed_url, ()))
                now = frozenset(decided.rule_ids) & wanted
            yield article, now, frozenset(stored.rule_ids)
        return
    async for article, matched in archive.iter_articles():
        decided = rules.decide(article, feed_tags.get(article.feed_url, ()))
        yield article, frozenset(decided.rule_ids) & wanted, frozenset(matched)


class ArticleArchive(Protocol):
    """The least a backtest needs from storage: every article with the rules that matched it
    (``storage.base.Storage`` provides it; so does a test's fake)."""

    def iter_articles(self, batch: int = 500) -> AsyncIterator[tuple[Article, tuple[str, ...]]]: ...
