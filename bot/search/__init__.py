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

import re
from dataclasses import dataclass
from datetime import datetime

from core.errors import RuleError
from core.models import Article, Hit
from rules import RuleSet, compile_ruleset
from storage.base import Storage

from .prefilter import IndexedArticles, candidates, has_word_index, word_condition
from .replay import ArticleArchive, ScanResult, replay_all, scan, scan_stored

__all__ = [
    "ArticleArchive",
    "Found",
    "IndexedArticles",
    "QueryProblem",
    "ScanResult",
    "SearchResult",
    "compile_query",
    "has_word_index",
    "replay_all",
    "scan",
    "scan_stored",
    "search_stored",
    "word_condition",
]

MAX_QUERY_CHARS = 1000
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
