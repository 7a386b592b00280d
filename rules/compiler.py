"""Rule files (YAML text) -> a compiled ``RuleSet``, or a ``RuleError`` listing every problem.

A rule file is a mapping with two optional keys::

    aliases:                       # named term lists, usable as @name in any file's queries
      unclos: [UNCLOS, United Nations Convention on the Law of the Sea]
    rules:
      - id: east-sea               # lower-case letters, digits, "-" and "_"; unique overall
        name: East Sea             # shown in /rules and in alerts
        description: ...           # optional
        query: '"East Sea" AND NOT football'
        fields: [title, summary]   # optional, default all: title, summary, content
        feeds: [https://...]       # optional: only articles of these feeds (url or name)
        feed_tags: [vietnam]       # optional: ... or of feeds with one of these tags
        tags: [maritime]           # optional, free labels
        priority: normal           # low | normal | high
        mode: instant              # instant | digest
        stories: group             # group (one alert per story) | separate (every article)

Scalars are read as the text written (``query: yes`` is the word "yes", not true). Pure: the
caller reads the files; this module only parses the text it is given.
"""

from __future__ import annotations

import difflib
import gc
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import re2
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.errors import RuleError
from core.models import DeliveryMode, Priority, RuleInfo, StoryMode

from .engine import (
    ALL_FIELDS_MASK,
    FIELDS,
    AllOf,
    AnyOf,
    CompiledRule,
    Expr,
    Leaf,
    Near,
    Not,
    RegexLeaf,
    RegexSpec,
    RuleSet,
    Term,
)
from .normalize import case_key, normalize_words, tokens_with_spans
from .problems import Problem, SourceText
from .query import (
    AliasNode,
    AndNode,
    NearNode,
    NotNode,
    OrNode,
    QueryError,
    RegexNode,
    ScopeNode,
    TermNode,
    parse_query,
)
from .query import Node as QNode

RULE_KEYS = (
    "id",
    "name",
    "description",
    "query",
    "fields",
    "feeds",
    "feed_tags",
    "tags",
    "priority",
    "mode",
    "stories",
)
TOP_KEYS = ("rules", "aliases")
_ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]*$")
_ALIAS_NAME_RE = re.compile(r"[a-z0-9_][a-z0-9_-]*$")
MIN_PREFIX = 3
_NO_STRINGS: frozenset[str] = frozenset()
PACK_FROM_RULES = 5_000  # below this, fragmentation is small and packing not worth its time
# libyaml when available: same nodes and marks (char offsets), several times faster
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # we report the error ourselves, with its location


class _Abort(Exception):
    """One problem that stops the current rule (already recorded)."""


@dataclass(slots=True)
class _AliasDef:
    name: str
    source: SourceText
    key_node: Node
    entries: list[tuple[str, ScalarNode]]


@dataclass(slots=True)
class _RuleDef:
    source: SourceText
    node: MappingNode
    values: dict[str, tuple[Node, Node]] = field(default_factory=dict)


class _Compiler:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.terms: list[Term] = []
        self.term_ids: dict[tuple[tuple[str, ...], bool, tuple[str, ...] | None, str], int] = {}
        self.regexes: list[RegexSpec] = []
        self.regex_ids: dict[str, int] = {}
        self.aliases: dict[str, _AliasDef] = {}
        self.alias_exprs: dict[str, Expr | None] = {}

    # ---- YAML structure ------------------------------------------------------------------
    def read(self, name: str, text: str) -> list[_RuleDef]:
        src = SourceText(name, text)
        try:
            root = yaml.compose(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            index = mark.index if mark is not None else 0
            what = e.problem or e.context or "invalid YAML"
            self.problems.append(
                src.problem_at(
                    index,
                    f"invalid YAML: {what}",
                    "check indentation, and quote values that contain ': ' or start with a quote",
                )
            )
            return []
        except yaml.YAMLError as e:
            self.problems.append(src.problem_at(0, f"invalid YAML: {e}"))
            return []
        if root is None:
            return []  # an empty file (or only comments) defines nothing
        if not isinstance(root, MappingNode):
            self.problems.append(
                src.problem(root, "a rule file must be a mapping", "start with 'rules:'")
            )
            return []
        rules: list[_RuleDef] = []
        for key_node, value_node in self._mapping(src, root):
            key = key_node.value
            if key == "aliases":
                self._read_aliases(src, value_node)
            elif key == "rules":
                rules.extend(self._read_rules(src, value_node))
            else:
                self.problems.append(
                    src.problem(key_node, f"unknown key {key!r}", _suggest(key, TOP_KEYS))
                )
        return rules

    def _mapping(self, src: SourceText, node: MappingNode) -> list[tuple[ScalarNode, Node]]:
        seen: dict[str, ScalarNode] = {}
        out: list[tuple[ScalarNode, Node]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(src.problem(key_node, "keys must be plain words"))
                continue
            if key_node.value in seen:
                first = seen[key_node.value].start_mark.line + 1
                self.problems.append(
                    src.problem(
                        key_node,
                        f"duplicate key {key_node.value!r}",
                        f"it is already set on line {first}",
                    )
                )
                continue
            seen[key_node.value] = key_node
            out.append((key_node, value_node))
        return out

    def _read_aliases(self, src: SourceText, node: Node) -> None:
        if _is_null(node):
            return
        if not isinstance(node, MappingNode):
            self.problems.append(
                src.problem(node, "'aliases' must be a mapping", "aliases:\n  name: [a, b]")
            )
            return
        for key_node, value_node in self._mapping(src, node):
            name = key_node.value.lower()
            if not _ALIAS_NAME_RE.match(name):
                self.problems.append(
                    src.problem(
                        key_node,
                        f"bad alias name {key_node.value!r}",
                        "use letters, digits, '_' and '-'",
                    )
                )
                continue
            if name in self.aliases:
                first = self.aliases[name]
                self.problems.append(
                    src.problem(
                        key_node,
                        f"alias @{name} is defined twice",
                        f"first defined at {first.source.name}:"
                        f"{first.key_node.start_mark.line + 1}",
                    )
                )
                continue
            entries: list[tuple[str, ScalarNode]] = []
            items = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for item in items:
                if not isinstance(item, ScalarNode) or not item.value.strip():
                    self.problems.append(
                        src.problem(
                            item,
                            f"alias @{name}: each entry must be a non-empty text",
                            "write entries as a list of words or phrases",
                        )
                    )
                    continue
                entries.append((item.value, item))
            if not entries and items:
                continue
            if not entries:
                self.problems.append(
                    src.problem(value_node, f"alias @{name} is empty", "list at least one term")
                )
                continue
            self.aliases[name] = _AliasDef(name, src, key_node, entries)

    def _read_rules(self, src: SourceText, node: Node) -> list[_RuleDef]:
        if _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.problems.append(
                src.problem(node, "'rules' must be a list", "start each rule with '- id: ...'")
            )
            return []
        out: list[_RuleDef] = []
        for item in node.value:
            if not isinstance(item, MappingNode):
                self.problems.append(
                    src.problem(item, "each rule must be a mapping", "- id: my-rule\n  query: ...")
                )
                continue
            rule = _RuleDef(src, item)
            for key_node, value_node in self._mapping(src, item):
                key = key_node.value
                if key not in RULE_KEYS:
                    self.problems.append(
                        src.problem(key_node, f"unknown rule key {key!r}", _suggest(key, RULE_KEYS))
                    )
                    continue
                rule.values[key] = (key_node, value_node)
            out.append(rule)
        return out

    # ---- aliases and queries -------------------------------------------------------------
    def term_id(self, node: TermNode) -> int | str:
        """Index of the term, or a message saying why it cannot match anything."""
        words = tuple(normalize_words(node.text))
        if not words:
            return "this term has no letters or digits, so it can never match"
        if node.prefix and len(words[-1]) < MIN_PREFIX:
            return f"a prefix must have at least {MIN_PREFIX} letters"
        exact: tuple[str, ...] | None = None
        if node.exact_case:
            exact = tuple(
                case_key(node.text[t.start : t.end]) for t in tokens_with_spans(node.text)
            )
        display = ("=" if node.exact_case else "") + node.text + ("*" if node.prefix else "")
        key = (words, node.prefix, exact, display)
        tid = self.term_ids.get(key)
        if tid is None:
            tid = self.term_ids[key] = len(self.terms)
            self.terms.append(Term(words, node.prefix, exact, display))
        return tid

    def regex_id(self, node: RegexNode) -> int | str:
        source = f"/{node.pattern}/" + ("i" if node.ignore_case else "")
        rid = self.regex_ids.get(source)
        if rid is None:
            pattern = ("(?i)" if node.ignore_case else "") + node.pattern
            try:
                compiled = re2.compile(pattern, _RE2_OPTIONS)
            except Exception as e:  # re2.error, plus TypeError/ValueError from bad input
                detail = e.args[0] if e.args else e
                if isinstance(detail, bytes):
                    detail = detail.decode("utf-8", "replace")
                return f"invalid regular expression: {detail}"
            rid = self.regex_ids[source] = len(self.regexes)
            self.regexes.append(RegexSpec(source, compiled))
        return rid

    def alias_expr(self, name: str) -> Expr | None:
        """The alias as an OR of its entries (all fields); None if it had errors."""
        if name in self.alias_exprs:
            return self.alias_exprs[name]
        alias = self.aliases[name]
        leaves: list[Expr] = []
        ok = True
        for text, node in alias.entries:
            entry = _alias_entry(text)
            if isinstance(entry, QueryError):
                self.problems.append(
                    alias.source.problem_in_value(
                        node, text, entry.offset, entry.message, entry.hint
                    )
                )
                ok = False
                continue
            result: int | str
            if isinstance(entry, RegexNode):
                result = self.regex_id(entry)
                if isinstance(result, int):
                    leaves.append(RegexLeaf(result, ALL_FIELDS_MASK))
            else:
                result = self.term_id(entry)
                if isinstance(result, int):
                    leaves.append(Leaf(result, ALL_FIELDS_MASK))
            if isinstance(result, str):
                self.problems.append(alias.source.problem(node, f"alias @{name}: {result}"))
                ok = False
        expr: Expr | None = (
            (leaves[0] if len(leaves) == 1 else AnyOf(tuple(leaves))) if ok else None
        )
        self.alias_exprs[name] = expr
        return expr

    def query_expr(self, src: SourceText, node: ScalarNode, text: str, mask: int) -> Expr:
        try:
            tree = parse_query(text)
        except QueryError as e:
            self.problems.append(src.problem_in_value(node, text, e.offset, e.message, e.hint))
            raise _Abort from e

        def fail(offset: int, message: str, hint: str = "") -> _Abort:
            self.problems.append(src.problem_in_value(node, text, offset, message, hint))
            return _Abort()

        def build(q: QNode, mask: int) -> Expr:
            if isinstance(q, TermNode):
                tid = self.term_id(q)
                if isinstance(tid, str):
                    raise fail(q.offset, tid, "search for words or numbers, or use a /regex/")
                return Leaf(tid, mask)
            if isinstance(q, RegexNode):
                rid = self.regex_id(q)
                if isinstance(rid, str):
                    raise fail(q.offset, rid, "RE2 syntax: no look-around, no backreferences")
                return RegexLeaf(rid, mask)
            if isinstance(q, AliasNode):
                if q.name not in self.aliases:
                    known = ", ".join("@" + n for n in sorted(self.aliases)) or "none"
                    close = difflib.get_close_matches(q.name, list(self.aliases), n=1)
                    hint = f"did you mean @{close[0]}? " if close else ""
                    raise fail(
                        q.offset, f"unknown alias @{q.name}", f"{hint}defined aliases: {known}"
                    )
                expr = self.alias_expr(q.name)
                if expr is None:
                    raise _Abort
                return _rescope(expr, mask)
            if isinstance(q, ScopeNode):
                scope = 0
                for name in q.fields:
                    scope |= 1 << FIELDS.index(name)
                return build(q.child, scope)
            if isinstance(q, NotNode):
                return Not(build(q.child, mask))
            if isinstance(q, AndNode):
                return AllOf(tuple(build(c, mask) for c in q.children))
            if isinstance(q, OrNode):
                return AnyOf(tuple(build(c, mask) for c in q.children))
            assert isinstance(q, NearNode)
            left = build(q.left, mask)
            right = build(q.right, mask)
            for side, operand in ((q.left, left), (q.right, right)):
                if not _positional(operand):
                    raise fail(
                        side.offset,
                        "NEAR needs words, phrases or aliases on both sides",
                        "NEAR cannot use AND, NOT or regexes; write (a NEAR/5 b) AND c",
                    )
            return Near(left, right, q.distance)

        expr = build(tree, mask)
        if not _needs_positive(expr):
            raise fail(
                0,
                "this query can match an article without finding any term",
                "add a word it must contain: '\"East Sea\" AND NOT football', not 'NOT football'",
            )
        return expr

    # ---- rules ---------------------------------------------------------------------------
    def rule(self, rule: _RuleDef, seen_ids: dict[str, _RuleDef]) -> CompiledRule | None:
        src = rule.source
        values = rule.values

        def text(key: str, required: bool = False) -> tuple[str, ScalarNode | None]:
            if key not in values:
                if required:
                    self.problems.append(
                        src.problem(rule.node, f"rule without {key!r}", f"add '{key}: ...'")
                    )
                    raise _Abort
                return "", None
            key_node, node = values[key]
            if _is_null(node) or (isinstance(node, ScalarNode) and not node.value.strip()):
                if required:
                    self.problems.append(
                        src.problem(node if _is_null(node) else key_node, f"empty {key!r}")
                    )
                    raise _Abort
                return "", None
            if not isinstance(node, ScalarNode):
                self.problems.append(
                    src.problem(node, f"{key!r} must be a text, not a list or mapping")
                )
                raise _Abort
            return node.value, node

        def strings(key: str) -> list[tuple[str, ScalarNode]]:
            if key not in values:
                return []
            node = values[key][1]
            if _is_null(node):
                return []
            items = node.value if isinstance(node, SequenceNode) else [node]
            out: list[tuple[str, ScalarNode]] = []
            for item in items:
                if not isinstance(item, ScalarNode) or not item.value.strip():
                    self.problems.append(
                        src.problem(item, f"{key!r} entries must be non-empty texts")
                    )
                    raise _Abort
                out.append((item.value.strip(), item))
            return out

        rule_id, id_node = text("id", required=True)
        assert id_node is not None
        if not _ID_RE.match(rule_id):
            self.problems.append(
                src.problem(
                    id_node,
                    f"bad rule id {rule_id!r}",
                    "use lower-case letters, digits, '-' and '_' (users type it in /subscribe)",
                )
            )
            raise _Abort
        duplicate = rule_id in seen_ids
        if duplicate:
            first = seen_ids[rule_id]
            self.problems.append(
                src.problem(
                    id_node,
                    f"duplicate rule id {rule_id!r}",
                    f"first used at {first.source.name}:{first.node.start_mark.line + 1}; "
                    "rule ids must be unique across all rule files",
                )
            )
        else:
            seen_ids[rule_id] = rule
        name, _ = text("name", required=True)
        description, _ = text("description")
        priority_text, priority_node = text("priority")
        mode_text, mode_node = text("mode")
        priority = Priority.NORMAL
        if priority_text:
            try:
                priority = Priority(priority_text.strip().lower())
            except ValueError:
                self.problems.append(
                    src.problem(
                        priority_node, f"bad priority {priority_text!r}", "low, normal or high"
                    )
                )
                raise _Abort from None
        mode = DeliveryMode.INSTANT
        if mode_text:
            try:
                mode = DeliveryMode(mode_text.strip().lower())
            except ValueError:
                self.problems.append(
                    src.problem(mode_node, f"bad mode {mode_text!r}", "instant or digest")
                )
                raise _Abort from None
        stories_text, stories_node = text("stories")
        stories = StoryMode.GROUP
        if stories_text:
            try:
                stories = StoryMode(stories_text.strip().lower())
            except ValueError:
                self.problems.append(
                    src.problem(stories_node, f"bad stories {stories_text!r}", "group or separate")
                )
                raise _Abort from None
        mask = 0
        for value, node in strings("fields"):
            if value.lower() not in FIELDS:
                self.problems.append(
                    src.problem(node, f"unknown field {value!r}", f"fields are {', '.join(FIELDS)}")
                )
                raise _Abort
            mask |= 1 << FIELDS.index(value.lower())
        mask = mask or ALL_FIELDS_MASK
        # most rules have neither: share one empty set (100,000 empty frozensets are 40 MB)
        feeds = frozenset(v for v, _ in strings("feeds")) or _NO_STRINGS
        feed_tags = frozenset(v for v, _ in strings("feed_tags")) or _NO_STRINGS
        tags = tuple(v for v, _ in strings("tags"))
        query, query_node = text("query", required=True)
        assert query_node is not None
        expr = self.query_expr(src, query_node, query, mask)
        info = RuleInfo(rule_id, name.strip(), description.strip(), priority, mode, tags, stories)
        if duplicate:
            return None  # checked all the same, so every problem is reported in one go
        where = f"{src.name}:{rule.node.start_mark.line + 1}"
        return CompiledRule(info, expr, query.strip(), feeds, feed_tags, where)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _suggest(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    listed = ", ".join(known)
    return f"did you mean {close[0]!r}? known keys: {listed}" if close else f"known keys: {listed}"


def _alias_entry(text: str) -> TermNode | RegexNode | QueryError:
    """An alias entry is one term: a phrase as written, ``=Exact``, ``prefix*`` or ``/regex/``."""
    raw = text.strip()
    lead = len(text) - len(text.lstrip())
    if len(raw) >= 2 and raw.startswith("/") and (raw.endswith("/") or raw.endswith("/i")):
        ignore_case = raw.endswith("/i")
        pattern = raw[1 : -2 if ignore_case else -1]
        if pattern:
            return RegexNode(pattern, lead, ignore_case)
    exact = raw.startswith("=")
    body = raw[1:].strip() if exact else raw
    if len(body) >= 2 and body[0] == body[-1] == '"':
        body = body[1:-1].strip()
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1].rstrip()
    if "*" in body:
        return QueryError(
            "'*' may only end the last word of an alias entry", lead + raw.index("*"), "partner*"
        )
    if not body:
        return QueryError("empty alias entry", lead, "write a word or phrase")
    return TermNode(body, lead, prefix=prefix, exact_case=exact, quoted=True)


def _rescope(expr: Expr, mask: int) -> Expr:
    if isinstance(expr, Leaf):
        return Leaf(expr.term, mask)
    if isinstance(expr, RegexLeaf):
        return RegexLeaf(expr.regex, mask)
    assert isinstance(expr, AnyOf)
    return AnyOf(tuple(_rescope(c, mask) for c in expr.children))


def _positional(expr: Expr) -> bool:
    if isinstance(expr, Leaf | Near):
        return True
    if isinstance(expr, AnyOf):
        return all(_positional(c) for c in expr.children)
    return False


def _needs_positive(expr: Expr) -> bool:
    """True when the expression can only be true if some (non-negated) term occurs."""
    if isinstance(expr, Leaf | RegexLeaf | Near):
        return True
    if isinstance(expr, Not):
        return False
    if isinstance(expr, AnyOf):
        return all(_needs_positive(c) for c in expr.children)
    return any(_needs_positive(c) for c in expr.children)


def compile_ruleset(sources: Mapping[str, str]) -> RuleSet:
    """{source name (e.g. file path): YAML text} -> RuleSet, in source order then file order.

    Pure. Raises ``RuleError`` whose message lists every problem found, each with
    ``source:line:col``, the line with a caret under the problem, and a hint.
    """
    # Compiling creates no reference cycles worth collecting, but hundreds of thousands of
    # objects: with the cycle collector running, its passes over them cost more than the work.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _compile(sources)
    finally:
        if was_enabled:
            gc.enable()


def _compile(sources: Mapping[str, str]) -> RuleSet:
    compiler = _Compiler()
    defs: list[_RuleDef] = []
    for name, text in sources.items():
        defs.extend(compiler.read(name, text))
    compiled: list[CompiledRule] = []
    seen_ids: dict[str, _RuleDef] = {}
    for rule in defs:
        try:
            result = compiler.rule(rule, seen_ids)
        except _Abort:
            continue
        if result is not None:
            compiled.append(result)
    for name in compiler.aliases:  # report errors in aliases nobody uses yet
        compiler.alias_expr(name)
    if compiler.problems:
        order = {name: i for i, name in enumerate(sources)}
        compiler.problems.sort(key=lambda p: (order.get(p.source, len(order)), p.line, p.col))
        raise RuleError(format_problems(compiler.problems))
    if len(compiled) < PACK_FROM_RULES:
        return RuleSet(compiled, compiler.terms, compiler.regexes)
    regexes = compiler.regexes
    # Compiling interleaves what is kept (rules, terms) with much more that is not (the YAML
    # node tree, parse trees), which leaves memory fragmented: a copy made after the
    # temporaries are gone packs the kept objects together, so the process really shrinks
    # (100,000 rules: 460 MB -> 256 MB; see docs/benchmarks.md).
    blob = pickle.dumps((compiled, compiler.terms), protocol=pickle.HIGHEST_PROTOCOL)
    del compiled, compiler, defs, seen_ids
    gc.collect()  # the YAML loader's reference cycles, before the copy takes their place
    packed_rules, packed_terms = pickle.loads(blob)
    del blob
    return RuleSet(packed_rules, packed_terms, regexes)


def format_problems(problems: list[Problem]) -> str:
    blocks = [p.format() for p in problems]
    if len(blocks) == 1:
        return blocks[0]
    return f"{len(blocks)} problems in rule files:\n" + "\n".join(blocks)
