"""The rules in force as the commands name them: sorted, found by id or ``#tag`` in any case,
a "did you mean" hint for typos, and the short tokens that fit in button callback data.

Reads ``RuleHolder.current`` on every call, so a ``/reload`` shows at once. Other chats'
personal rules are not found here (only their owner may subscribe). Does not reply.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence

from bot.delivery.alert_format import rule_tags
from bot.i18n import text
from bot.personal_rules import is_personal_rule_id
from bot.services import RuleHolder
from core.models import Language, RuleInfo


def rule_token(rule_id: str) -> str:
    """A rule id short enough for callback data (64 bytes with the prefix and page)."""
    if len(rule_id.encode()) <= 40 and ":" not in rule_id:
        return rule_id
    return "#" + hashlib.sha1(rule_id.encode()).hexdigest()[:12]


def all_rules(rules: RuleHolder) -> list[RuleInfo]:
    """The rule files' rules, sorted by id. Personal rules (``/watch``) are left out: each
    belongs to the one chat that saved it, which manages it with /myrules."""
    current: Sequence[RuleInfo] = rules.current.rules
    return sorted((r for r in current if not is_personal_rule_id(r.id)), key=lambda r: r.id)


def find_rule(rules: RuleHolder, name: str) -> RuleInfo | None:
    """The rule called ``name``: its exact id, else its id or ``#tag`` ignoring case."""
    found: RuleInfo | None = rules.current.get(name)
    if found is not None and not is_personal_rule_id(found.id):
        return found
    folded = name.casefold().lstrip("#")
    for rule in all_rules(rules):
        if rule.id.casefold() == folded or rule_tags([rule.id]) == [f"#{folded}"]:
            return rule
    return None


def unknown_rule(rules: RuleHolder, name: str, lang: Language | None = None) -> str:
    """What to tell someone who named a rule that does not exist (plain text, in ``lang``)."""
    ids = [r.id for r in all_rules(rules)]
    close = difflib.get_close_matches(name, ids, n=3, cutoff=0.5)
    hint = text(lang, "rule.did_you_mean", names=", ".join(close)) if close else ""
    return text(lang, "rule.unknown", name=name, hint=hint)


def rule_by_token(rules: RuleHolder, token: str) -> RuleInfo | None:
    for rule in all_rules(rules):
        if rule_token(rule.id) == token:
            return rule
    return None
