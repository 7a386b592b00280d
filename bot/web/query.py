"""Rules and searches in the rule language, run over stored articles.

``search_rules`` turns a search (``"East Sea" AND NOT football``) into a one-rule ``RuleSet``
with the same parser and compiler as rule files (and the aliases of the rule files, so
``@unclos`` works); ``candidate_rules`` compiles the rule folder with one file replaced by the
text being edited, so its errors are exactly ``rules check``'s. Running them over stored
articles is ``bot.search.scan_stored``'s job (the one replay, shared with Telegram and the
command line).

Pure apart from reading the rule folder; stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from bot.config.rule_files import read_rule_sources
from core.errors import RuleError
from rules import RuleSet, compile_ruleset

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
