"""The rule engine: parse, compile and match rules against articles. Pure: no I/O.

``compile_ruleset({name: yaml_text})`` builds a ``RuleSet``; ``RuleSet.match(article)`` returns
the rules that fire, each with the hits that explain why; ``RuleSet.decide(article)`` only
decides which fire, and locates hits on demand for the rules that need them. Reading rule
files from disk is ``bot.config.rule_files``'s job, not this package's.
"""

from .compiler import PERSONAL_ID_RE, PERSONAL_SOURCE, compile_ruleset, format_problems
from .engine import FIELDS, CompiledRule, Decision, RuleSet
from .query import QueryError, parse_query

__all__ = [
    "FIELDS",
    "PERSONAL_ID_RE",
    "PERSONAL_SOURCE",
    "CompiledRule",
    "Decision",
    "QueryError",
    "RuleSet",
    "compile_ruleset",
    "format_problems",
    "parse_query",
]
