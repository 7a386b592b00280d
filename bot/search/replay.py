"""Replays of rules over stored articles: ``scan`` (newest first, bounded), ``scan_stored``
(through the prefilter) and ``replay_all`` (every article: the backtest)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.models import Article, RuleMatch
from rules import RuleSet
from storage.console import StoredArticle
from storage.words import WordCondition

from .prefilter import (
    FETCH_BATCH,
    IndexedArticles,
    candidates,
    exact_conditions,
    has_word_index,
    word_condition,
)

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
    allow no word condition (or ``use_index`` is False: the full scan, for comparison).

    When every hit is to be counted (``stop_at`` None, no paging) and the rules are single
    words joined by AND / OR (``exact_conditions``), the engine stops at ``keep`` hits and the
    index counts the rest; the counts are the same as the engine's would be."""
    cond = word_condition(rules, rule_ids) if use_index else None
    exact = None
    if cond is not None and stop_at is None and before_id is None:
        exact = exact_conditions(rules, rule_ids)
    articles = candidates(source, cond, before_id=before_id, since=since, language=language)
    result = await scan(
        rules,
        rule_ids,
        articles,
        feed_tags,
        keep=keep,
        # counted by the index: the engine only needs to find the hits shown
        stop_at=keep if exact is not None else stop_at,
        max_scanned=max_scanned,
        budget_s=budget_s,
    )
    result.indexed = cond is not None
    if exact is not None and not result.complete:
        result.counts = await _exact_counts(source, rules, exact, feed_tags, since, language)
        result.complete = True
    return result


async def _exact_counts(
    source: IndexedArticles,
    rules: RuleSet,
    exact: Mapping[str, WordCondition],
    feed_tags: Mapping[str, Sequence[str]],
    since: datetime | None,
    language: str | None,
) -> dict[str, int]:
    """Per rule, its indexed matches counted by the index, plus the pending articles it
    fires on (matched by the engine: their indexed words may be missing or stale)."""
    counts = {
        rule_id: await source.count_word_matches(cond, since=since, language=language)
        for rule_id, cond in exact.items()
    }
    pending = await source.pending_word_ids(since=since, language=language)
    for i in range(0, len(pending), FETCH_BATCH):
        for stored in await source.articles_by_ids(pending[i : i + FETCH_BATCH]):
            article = stored.article
            for rule_id in rules.decide(article, feed_tags.get(article.feed_url, ())).rule_ids:
                if rule_id in counts:
                    counts[rule_id] += 1
    return counts


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
