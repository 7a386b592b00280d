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
import json
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
from .normalize import case_key, has_sentence_break, normalize_words, tokens_with_spans
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
# Rules saved from the chat (/watch) are compiled from one source of this name, with ids
# u<chat>-<number>; no rule file may take such an id, so the two can never collide.
PERSONAL_SOURCE = "<personal rules>"
PERSONAL_ID_RE = re.compile(r"u(-?\d+)-(\d+)$")
_ALIAS_NAME_RE = re.compile(r"[a-z0-9_][a-z0-9_-]*$")
MIN_PREFIX = 3
_NO_STRINGS: frozenset[str] = frozenset()
# libyaml when available: same nodes and marks (char offsets), several times faster
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # we report the error ourselves, with its location
# The query node of a fast-path rule: it has no marks, so a problem (which needs them) fails
# with AttributeError and the file goes to the YAML path.
_MAYBE_OPERATOR_WORD = re.compile(r"(?i)(?<![\w\"])(?:or|and|not)(?![\w\"])")
_LIGHT_NODE = ScalarNode("tag:yaml.org,2002:str", "")


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
        self.warnings: list[Problem] = []  # valid, but probably not what was meant
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
            self.problems.append(_yaml_problem(src, e))
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
        if len(words) > 1 and has_sentence_break(node.text):
            # it could never match: text never has a phrase across a sentence break
            return "a phrase cannot span sentence punctuation (. ! ? : ; or a line break)"
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
                    hint = (
                        'split it: "Middle East" NEAR/3 sea, or "Middle East" AND sea'
                        if "punctuation" in tid
                        else "search for words or numbers, or use a /regex/"
                    )
                    raise fail(q.offset, tid, hint)
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
        if _MAYBE_OPERATOR_WORD.search(text):
            self._operator_words(src, node, text, tree)
        if not _needs_positive(expr):
            raise fail(
                0,
                "this query can match an article without finding any term",
                "add a word it must contain: '\"East Sea\" AND NOT football', not 'NOT football'",
            )
        return expr

    def _operator_words(self, src: SourceText, node: ScalarNode, text: str, tree: QNode) -> None:
        """Warn about "or", "and", "not" written in lower case between two terms: they are
        searched as words (adjacent terms mean AND), which is rarely what was meant."""
        stack = [tree]
        while stack:
            q = stack.pop()
            if isinstance(q, AndNode):
                inner = q.children[1:-1]
                for child in inner:
                    if (
                        isinstance(child, TermNode)
                        and not (child.quoted or child.prefix or child.exact_case)
                        and child.text.lower() in ("or", "and", "not")
                        and child.text != child.text.upper()
                    ):
                        op = child.text.upper()
                        example = "a AND NOT b" if op == "NOT" else f"a {op} b"
                        self.warnings.append(
                            src.problem_in_value(
                                node,
                                text,
                                child.offset,
                                f"'{child.text}' is searched as a word here: did you mean {op}?",
                                f"operators are upper case ({example}); to search for the "
                                f'word, quote it: "{child.text}"',
                            )
                        )
                stack.extend(q.children)
            elif isinstance(q, OrNode):
                stack.extend(q.children)
            elif isinstance(q, NotNode | ScopeNode):
                stack.append(q.child)
            elif isinstance(q, NearNode):
                stack.extend((q.left, q.right))

    # ---- rules ---------------------------------------------------------------------------
    def rule_light(
        self,
        src: SourceText,
        line: int,
        values: dict[str, str | list[str]],
        seen_ids: dict[str, tuple[str, int]],
    ) -> CompiledRule:
        """``rule`` for a rule read by ``_fast_read``: the same checks and result, but any
        problem (or doubt) raises ``_Fallback`` so the YAML path reports it with its place."""

        def text(key: str) -> str:
            value = values.get(key, "")
            if not isinstance(value, str):
                raise _Fallback
            return value

        def strings(key: str) -> list[str]:
            value = values.get(key)
            if value is None:
                return []
            items = [value] if isinstance(value, str) else value
            if not all(item.strip() for item in items):
                raise _Fallback
            return [item.strip() for item in items]

        rule_id = values.get("id")
        name = values.get("name")
        query = values.get("query")
        if not (isinstance(rule_id, str) and isinstance(name, str) and isinstance(query, str)):
            raise _Fallback  # missing (or a list)
        if not (name.strip() and query.strip()) or rule_id in seen_ids:
            raise _Fallback
        if not _ID_RE.match(rule_id):
            raise _Fallback
        if PERSONAL_ID_RE.match(rule_id) and src.name != PERSONAL_SOURCE:
            raise _Fallback  # an id reserved for /watch rules: ``rule`` says so, with its place
        description = priority = mode = stories = ""
        mask = ALL_FIELDS_MASK
        feeds = feed_tags = _NO_STRINGS
        tags: tuple[str, ...] = ()
        if len(values) > 3:  # only id, name and query: the usual large-set rule
            description = text("description")
            priority = text("priority").strip().lower()
            mode = text("mode").strip().lower()
            mask = 0
            for value in strings("fields"):
                if value.lower() not in FIELDS:
                    raise _Fallback
                mask |= 1 << FIELDS.index(value.lower())
            mask = mask or ALL_FIELDS_MASK
            feeds = frozenset(strings("feeds")) or _NO_STRINGS
            feed_tags = frozenset(strings("feed_tags")) or _NO_STRINGS
            tags = tuple(strings("tags"))
            stories = text("stories").strip().lower()
        try:
            rule_priority = Priority(priority) if priority else Priority.NORMAL
            rule_mode = DeliveryMode(mode) if mode else DeliveryMode.INSTANT
            rule_stories = StoryMode(stories) if stories else StoryMode.GROUP
        except ValueError:
            raise _Fallback from None
        problems, warnings = len(self.problems), len(self.warnings)
        try:
            expr = self.query_expr(src, _LIGHT_NODE, query, mask)
        except (_Abort, AttributeError, TypeError):  # a problem needs the node's marks
            raise _Fallback from None
        if len(self.problems) != problems or len(self.warnings) != warnings:
            raise _Fallback
        seen_ids[rule_id] = (src.name, line)
        info = RuleInfo(
            rule_id, name.strip(), description.strip(), rule_priority, rule_mode, tags, rule_stories
        )
        return CompiledRule(info, expr, query.strip(), feeds, feed_tags, f"{src.name}:{line + 1}")

    def rule(self, rule: _RuleDef, seen_ids: dict[str, tuple[str, int]]) -> CompiledRule | None:
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
        if PERSONAL_ID_RE.match(rule_id) and src.name != PERSONAL_SOURCE:
            self.problems.append(
                src.problem(
                    id_node,
                    f"rule id {rule_id!r} is reserved for rules saved from the chat",
                    "ids of the form u<chat>-<number> name /watch rules; choose another id",
                )
            )
            raise _Abort
        duplicate = rule_id in seen_ids
        if duplicate:
            first_source, first_line = seen_ids[rule_id]
            self.problems.append(
                src.problem(
                    id_node,
                    f"duplicate rule id {rule_id!r}",
                    f"first used at {first_source}:{first_line + 1}; "
                    "rule ids must be unique across all rule files",
                )
            )
        else:
            seen_ids[rule_id] = (src.name, rule.node.start_mark.line)
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


def _yaml_problem(src: SourceText, e: yaml.MarkedYAMLError) -> Problem:
    """A YAML error placed where the trouble starts, with PyYAML's "while ..." context kept.

    An unclosed quote, a key without ':' and an unclosed flow collection ('[', '{') are
    found where the reader gave up, often the end of the file: the place worth
    showing is where the quote, key or bracket was opened (the context mark). For a block
    structure error (bad indentation) the context is the whole list or mapping above, and the
    problem mark is the misplaced line itself."""
    problem, context = e.problem_mark, e.context_mark
    opened = context is not None and any(
        what in (e.context or "") for what in ("quoted scalar", "simple key", "flow")
    )
    mark = (context if opened else problem) or problem or context
    index = mark.index if mark is not None else 0
    what = e.problem or e.context or "invalid YAML"
    if e.context and context is not None:
        if opened and problem is not None:
            line = src.line_col(problem.index)[0]
            what = f"{what} (on line {line}), {e.context} that starts here"
        else:
            line, col = src.line_col(context.index)
            what = f"{what}, {e.context} that starts on line {line}, column {col}"
    text = e.problem or ""
    if "mapping values" in text:
        hint = "a value containing ': ' must be quoted: query: '\"Middle East\" AND sea'"
    elif "quoted scalar" in (e.context or ""):
        hint = "close the quote, or quote the whole value the other way: '\"East Sea\" OR x'"
    elif "flow" in (e.context or ""):
        hint = "close the bracket, or quote a value that starts with '[' or '{'"
    else:
        hint = "check indentation, and quote values that contain ': ' or start with a quote"
    return src.problem_at(index, f"invalid YAML: {what}", hint)


class _Fallback(Exception):
    """The fast path cannot handle this file (or found a problem): use the YAML path."""


# ---- fast path for plain rule lists ------------------------------------------------------
# Large rule sets are long lists of plain rules: "rules:", then "- id: ...", "name: ...",
# "query: ..." lines. Composing them with PyYAML builds ~24 tracked objects per rule (nodes,
# marks) whose garbage-collector passes cost more than the parsing: 100,000 rules took 22 s
# with the collector running, 8 s of it composing. This reader accepts only a strict subset
# of YAML that it reads exactly as PyYAML does (a test compares them) and creates no object
# per value that the collector tracks. Anything else, and any problem in a rule, sends the
# file to the YAML path, which gives the located messages.

_FAST_TOP = re.compile(r"rules:[ ]*(?:#.*)?")
_FAST_LINE = re.compile(r"( *)(- )?([a-z_]+):(?: (.*))?")
# a ":" inside a plain scalar must be followed by a character other than a space: at the end
# of the value (or before a space) it starts a mapping, which PyYAML refuses there
_FAST_PLAIN = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@`\s](?:[^#:\t]|:(?=[^ ])|(?<! )#)*")
_FAST_DQ = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\nt]|\\u(?![dD][89a-fA-F])[0-9a-fA-F]{4})*"')
_FAST_SQ = re.compile(r"'(?:[^'\x00-\x1f]|'')*'")
_FAST_COMMENT = re.compile(r"(?: +#.*)?")
_FAST_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*")
_NULLS = frozenset({"~", "null", "Null", "NULL"})
# what PyYAML's reader refuses (yaml.reader.Reader.NON_PRINTABLE), plus the BOM and the
# line separators it treats as line breaks
_NON_PRINTABLE = re.compile(
    "[^\x0a\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)


def _fast_scalar(raw: str) -> str | list[str]:
    """The value PyYAML reads for a one-line scalar or flow list of words; _Fallback else."""
    value = raw.rstrip(" ")
    if not value:
        raise _Fallback
    first = value[0]
    if first in "\"'":
        m = (_FAST_DQ if first == '"' else _FAST_SQ).match(value)
        if m is None or not _FAST_COMMENT.fullmatch(value, m.end()):
            raise _Fallback
        value = value[: m.end()]
    elif " #" in value:
        value = value[: value.index(" #")].rstrip(" ")  # a comment ends a plain scalar
        if not value:
            raise _Fallback
    if first == '"':
        body = value[1:-1]
        if "\\" not in body:
            return body
        # the escapes _FAST_DQ admits mean the same in JSON, whose decoder is in C
        decoded: str = json.loads(value)
        return decoded
    if first == "'":
        return value[1:-1].replace("''", "'")
    if first == "[":
        if not value.endswith("]"):
            raise _Fallback
        items = [item.strip(" ") for item in value[1:-1].split(",")]
        if not all(_FAST_WORD.fullmatch(item) for item in items):
            raise _Fallback
        return items
    if value in _NULLS or not _FAST_PLAIN.fullmatch(value):
        raise _Fallback
    return value


def _fast_read(text: str) -> list[tuple[int, dict[str, str | list[str]]]] | None:
    """(0-based line, {key: value}) of each rule of a plain rule list, or None when the file
    is not one (anything but "rules:" and one-line keys of plain list items)."""
    if _NON_PRINTABLE.search(text) or "\r" in text or "\t" in text:
        return None  # PyYAML refuses (or treats specially) these: let it say so
    lines = text.split("\n")
    i = 0
    while i < len(lines) and (not lines[i].strip(" ") or lines[i].startswith("#")):
        i += 1
    if i == len(lines) or not _FAST_TOP.fullmatch(lines[i].rstrip("\r")):
        return None
    out: list[tuple[int, dict[str, str | list[str]]]] = []
    indent = -1
    current: dict[str, str | list[str]] | None = None
    try:
        for number in range(i + 1, len(lines)):
            line = lines[number]
            stripped = line.strip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            m = _FAST_LINE.fullmatch(line)
            if m is None:
                return None
            spaces, dash, key, raw = m.groups()
            if dash:
                if indent < 0:
                    indent = len(spaces)
                if len(spaces) != indent:
                    return None
                current = {}
                out.append((number, current))
            elif current is None or len(spaces) != indent + 2 or key in current:
                return None
            if key not in RULE_KEYS or raw is None:
                return None
            current[key] = _fast_scalar(raw)
    except _Fallback:
        return None
    if indent < 1 and out:  # "- " at column 0 under "rules:" is valid YAML too; keep it simple
        return None
    return out


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

    Pure: no I/O, and no change to process-wide state (the garbage collector is left as it
    is; plain rule lists take a fast path that creates little for it to track). Raises
    ``RuleError`` whose message lists every problem found, each with ``source:line:col``,
    the line with a caret under the problem, and a hint.
    """
    compiler = _Compiler()
    light = None
    # per source: the rules read by the fast path, or the YAML path's definitions
    read: list[tuple[SourceText, list[tuple[int, dict[str, str | list[str]]]] | None]] = []
    defs_of: dict[str, list[_RuleDef]] = {}
    for name, text in sources.items():
        light = _fast_read(text)
        if light is None:
            defs_of[name] = compiler.read(name, text)
        read.append((SourceText(name, text), light))
    compiled: list[CompiledRule] = []
    seen_ids: dict[str, tuple[str, int]] = {}
    for src, light in read:
        if light is not None:
            start, ids = len(compiled), dict(seen_ids)
            try:
                for line, values in light:
                    compiled.append(compiler.rule_light(src, line, values, seen_ids))
                continue
            except _Fallback:
                del compiled[start:]  # this file again, the YAML way, to locate its problem
                seen_ids = ids
                defs_of[src.name] = compiler.read(src.name, src.text)
        for rule in defs_of.get(src.name, ()):
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
    warnings = tuple(p.format() for p in compiler.warnings)
    terms, regexes = compiler.terms, compiler.regexes
    # What only reading needed goes before the rule set is built, where the compile's memory
    # peaks: at 100,000 rules the fast path's rule dicts are ~75 MB, the compiler's tables
    # and the ids seen ~15 MB more (the peak while compiling 100,000 rules was 389 MB).
    del read, defs_of, seen_ids, compiler, light
    return RuleSet(compiled, terms, regexes, warnings=warnings)


def format_problems(problems: list[Problem]) -> str:
    blocks = [p.format() for p in problems]
    if len(blocks) == 1:
        return blocks[0]
    return f"{len(blocks)} problems in rule files:\n" + "\n".join(blocks)
