"""The type of what locates the hits of matches stored without any (issue #14).

The pipeline stores hits only for the rules some chat subscribes to; whoever shows a stored
match of another rule (an export) asks the rules in force for its hits with an ``Explainer``,
(article, rule ids) -> {rule id: hits}; ``rules.RuleSet.hits_for`` is one. Only a type: storage
does not know the rule engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from core.models import Article, Hit

Explainer = Callable[[Article, Sequence[str]], Mapping[str, tuple[Hit, ...]]]
