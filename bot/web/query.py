"""Rules and searches in the rule language, run over stored articles.

``search_rules`` turns a search (``"East Sea" AND NOT football``) into a one-rule ``RuleSet``
with the same parser and compiler as rule files (and the aliases of the rule files, so
``@unclos`` works); ``candidate_rules`` compiles the rule folder with one file replaced by the
text being edited, so its errors are exactly ``rules check``'s. ``scan`` runs a rule set over
stored articles newest first, stopping at enough hits, a scan limit or a time budget, and
yielding to the event loop between batches. The backtest of ``newswatch rules backtest`` does
the same replay over every article in storage order; this is its bounded, newest-first cousin.

Pure apart from reading the rule folder; stores nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.config.rule_files import read_rule_sources
from core.errors import RuleError
from core.models import RuleMatch
from rules import RuleSet, compile_ruleset
from storage.console import StoredArticle

SEARCH_RULE_ID = "search"
MAX_QUERY_CHARS = 2000


def alias_sources(sources: Mapping[str, str]) -> dict[str, str]:
    """Only the ``aliases`` of each rule file (so a search can use them, and nothing else)."""
    out: dict[str, str] = {}
    for name, text in sources.items():
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue  # a broken file is `rules check`'s business, not the search's
        if isinstance(data, dict) and isinstance(data.get("aliases"), dict):
            out[f"{name} (aliases)"] = yaml.safe_dump({"aliases": data["aliases"]})
    return out


def search_rules(query: str, rules_dir: Path | None = None) -> RuleSet:
    """A rule set holding one rule, ``search``, whose query is ``query``; RuleError if invalid
    (the message names the place in the query)."""
    query = query.strip()
    if not query:
        raise RuleError('type a query, e.g. "East Sea" AND NOT football')
    if len(query) > MAX_QUERY_CHARS:
        raise RuleError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    sources: dict[str, str] = {}
    if rules_dir is not None:
        try:
            sources = alias_sources(read_rule_sources(rules_dir))
        except RuleError:
            sources = {}
    rule = {"rules": [{"id": SEARCH_RULE_ID, "name": "search", "query": query}]}
    sources["search"] = yaml.safe_dump(rule, allow_unicode=True, width=10_000)
    return compile_ruleset(sources)


def candidate_rules(rules_dir: Path, file_name: str, text: str) -> tuple[RuleSet, list[str]]:
    """The rule folder compiled with ``file_name`` holding ``text`` (a new file if absent):
    the rule set and the ids of the rules in that file. RuleError exactly as ``rules check``."""
    try:
        sources = read_rule_sources(rules_dir)
    except RuleError:
        sources = {}
    key = str(rules_dir / file_name)
    sources[key] = text
    rules = compile_ruleset(sources)
    ids = [r.info.id for r in rules.compiled_rules if r.source.startswith(f"{key}:")]
    return rules, ids


@dataclass(slots=True)
class ScanResult:
    """What ``scan`` found: the hits (newest first), per-rule counts, how far it got."""

    hits: list[tuple[StoredArticle, tuple[RuleMatch, ...]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    scanned: int = 0
    complete: bool = True  # False: stopped by max_scanned or the time budget
    last_id: int | None = None  # the last article looked at: the next page starts below it


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
        fired = tuple(
            m
            for m in rules.match(stored.article, feed_tags.get(stored.article.feed_url, ()))
            if m.rule_id in wanted
        )
        if fired:
            for m in fired:
                result.counts[m.rule_id] += 1
            if len(result.hits) < keep:
                result.hits.append((stored, fired))
            if stop_at is not None and len(result.hits) >= stop_at:
                result.complete = False
                break
        if result.scanned % 200 == 0:
            await asyncio.sleep(0)  # matching is CPU work: let the bot's other tasks run
            if result.scanned >= max_scanned or time.monotonic() - started > budget_s:
                result.complete = False
                break
    return result
