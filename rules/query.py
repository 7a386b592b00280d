"""The query language: tokenizer and parser from query text to a syntax tree.

Grammar (operators are upper case; lower-case "and", "or", "not", "near" are ordinary words)::

    query    := or
    or       := and ( "OR" and )*
    and      := unary ( ["AND"] unary )*            adjacent terms mean AND
    unary    := "NOT" unary | near
    near     := primary ( "NEAR/"n primary )*       n words or fewer between the two
    primary  := "(" or ")" | FIELD ":" primary | term
    term     := word | word* | "a phrase" | "a phr*" | =Word | ="Exact Phrase"
              | /re2 regex/ | /re2 regex/i | @alias

Returns plain syntax nodes with the offset of each in the query text; ``QueryError`` carries
the offset and a hint. Does not normalise words, resolve aliases or know about rule files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELD_NAMES = ("title", "summary", "content")
MAX_NEAR = 100


class QueryError(ValueError):
    """A syntax error at ``offset`` of the query text."""

    def __init__(self, message: str, offset: int, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True, slots=True)
class TermNode:
    """A word or phrase. ``text`` is as written (without quotes, ``=`` or ``*``)."""

    text: str
    offset: int
    prefix: bool = False  # the last word ends in ``*``
    exact_case: bool = False  # written ``=Word`` / ``="Phrase"``
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class RegexNode:
    pattern: str
    offset: int
    ignore_case: bool = False


@dataclass(frozen=True, slots=True)
class AliasNode:
    name: str
    offset: int


@dataclass(frozen=True, slots=True)
class AndNode:
    children: tuple[Node, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class OrNode:
    children: tuple[Node, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class NotNode:
    child: Node
    offset: int


@dataclass(frozen=True, slots=True)
class NearNode:
    left: Node
    right: Node
    distance: int
    offset: int


@dataclass(frozen=True, slots=True)
class ScopeNode:
    fields: tuple[str, ...]
    child: Node
    offset: int


Node = TermNode | RegexNode | AliasNode | AndNode | OrNode | NotNode | NearNode | ScopeNode


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # ( ) AND OR NOT NEAR FIELD TERM REGEX ALIAS END
    offset: int
    text: str = ""
    value: int = 0
    node: Node | None = None


_SPECIAL = set('()"“”„') | {" ", "\t", "\n", "\r"}
_OPEN_QUOTES = '"“„'
_CLOSE_QUOTES = '"”“'
_NEAR_RE = re.compile(r"NEAR(?:/(\d+))?$")
_ALIAS_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*$")


def _tokenize(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            toks.append(_Tok(c, i))
            i += 1
            continue
        start = i
        exact = False
        if c == "=":
            exact = True
            i += 1
            if i >= n or q[i].isspace() or q[i] in "()":
                raise QueryError(
                    "'=' must be followed by a word or a quoted phrase",
                    start,
                    'write =WHO or ="World Health Organization" for an exact-case match',
                )
            c = q[i]
        if c in _OPEN_QUOTES:
            close = i + 1
            while close < n and q[close] not in _CLOSE_QUOTES:
                close += 1
            if close >= n:
                raise QueryError(
                    "unclosed quote", i, 'add the closing " after the phrase (or remove this one)'
                )
            text = q[i + 1 : close].strip()
            i = close + 1
            prefix = text.endswith("*")
            if prefix:
                text = text[:-1].rstrip()
            if "*" in text:
                raise QueryError(
                    "'*' may only end the last word of a phrase",
                    start,
                    'write "strategic partner*" (prefix of the last word only)',
                )
            if not text:
                raise QueryError("empty phrase", start, "put words between the quotes")
            if i < n and not (q[i].isspace() or q[i] in "()"):
                raise QueryError(
                    "a quoted phrase must be followed by a space, ')' or the end",
                    i,
                    "add a space after the closing quote",
                )
            toks.append(
                _Tok(
                    "TERM",
                    start,
                    node=TermNode(text, start, prefix=prefix, exact_case=exact, quoted=True),
                )
            )
            continue
        if c == "/" and not exact:
            j = i + 1
            buf: list[str] = []
            while j < n and q[j] != "/":
                if q[j] == "\\" and j + 1 < n and q[j + 1] == "/":
                    buf.append("/")
                    j += 2
                    continue
                buf.append(q[j])
                j += 1
            if j >= n:
                raise QueryError(
                    "unclosed regular expression",
                    start,
                    r"end it with / (write \/ for a slash inside it)",
                )
            j += 1
            ignore_case = False
            if j < n and q[j] == "i":
                ignore_case = True
                j += 1
            if j < n and not (q[j].isspace() or q[j] in "()"):
                raise QueryError(
                    "unexpected character after a regular expression",
                    j,
                    "the only flag is i (ignore case): /pattern/i",
                )
            pattern = "".join(buf)
            if not pattern:
                raise QueryError("empty regular expression", start, "put a pattern between / /")
            toks.append(_Tok("REGEX", start, node=RegexNode(pattern, start, ignore_case)))
            i = j
            continue
        # a bare word: up to whitespace, a parenthesis or a quote
        j = i
        while j < n and q[j] not in _SPECIAL:
            j += 1
        word = q[i:j]
        if not exact:
            near = _NEAR_RE.match(word)
            if word in ("AND", "OR", "NOT"):
                toks.append(_Tok(word, start))
                i = j
                continue
            if near:
                if near.group(1) is None:
                    raise QueryError(
                        "NEAR needs a distance", start, "write NEAR/5 for 'within 5 words'"
                    )
                distance = int(near.group(1))
                if distance > MAX_NEAR:
                    raise QueryError(
                        f"NEAR distance {distance} is too large",
                        start,
                        f"use at most NEAR/{MAX_NEAR}, or AND for 'anywhere in the article'",
                    )
                toks.append(_Tok("NEAR", start, value=distance))
                i = j
                continue
            if word.startswith("NEAR/"):
                raise QueryError(
                    f"bad NEAR distance {word[5:]!r}",
                    start,
                    "write NEAR/5 for 'within 5 words'",
                )
            if word.startswith("@"):
                name = word[1:]
                if not _ALIAS_RE.match(name):
                    raise QueryError(
                        f"bad alias name {word!r}",
                        start,
                        "alias names use letters, digits, '_' and '-': @unclos",
                    )
                toks.append(_Tok("ALIAS", start, node=AliasNode(name.lower(), start)))
                i = j
                continue
            colon = word.find(":")
            if colon > 0:
                name = word[:colon]
                if name.lower() in FIELD_NAMES:
                    toks.append(_Tok("FIELD", start, text=name.lower()))
                    i += colon + 1
                    if i >= n or q[i].isspace():
                        raise QueryError(
                            f"nothing after '{name}:'",
                            i,
                            f'write {name}:word, {name}:"a phrase" or {name}:(a OR b)',
                        )
                    continue
                raise QueryError(
                    f"unknown field {name!r}",
                    start,
                    f"fields are {', '.join(FIELD_NAMES)}; quote the text to search for a colon",
                )
        prefix = word.endswith("*")
        text = word[:-1] if prefix else word
        if "*" in text:
            raise QueryError(
                "'*' may only end a word",
                start + text.index("*") + (1 if exact else 0),
                "write partner* to match words starting with 'partner'",
            )
        if not text:
            raise QueryError("'*' alone matches nothing", start, "write a prefix: partner*")
        toks.append(
            _Tok("TERM", start, node=TermNode(text, start, prefix=prefix, exact_case=exact))
        )
        i = j
    toks.append(_Tok("END", n))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise QueryError("empty query", 0, 'write at least one word or "phrase"')
        node = self.parse_or()
        tok = self.peek()
        if tok.kind == ")":
            raise QueryError("unmatched ')'", tok.offset, "remove it or add a '(' before it")
        if tok.kind != "END":  # pragma: no cover - every other token starts a term
            raise QueryError("unexpected text", tok.offset, "")
        return node

    def parse_or(self) -> Node:
        first = self.parse_and()
        children = [first]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        return first if len(children) == 1 else OrNode(tuple(children), _offset(first))

    def parse_and(self) -> Node:
        first = self.parse_unary()
        children = [first]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
                children.append(self.parse_unary())
            elif kind in ("(", "NOT", "FIELD", "TERM", "REGEX", "ALIAS"):
                children.append(self.parse_unary())
            else:
                break
        return first if len(children) == 1 else AndNode(tuple(children), _offset(first))

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "NOT":
            self.take()
            return NotNode(self.parse_unary(), tok.offset)
        return self.parse_near()

    def parse_near(self) -> Node:
        left = self.parse_primary()
        while self.peek().kind == "NEAR":
            near = self.take()
            right = self.parse_primary()
            left = NearNode(left, right, near.value, near.offset)
        return left

    def parse_primary(self) -> Node:
        tok = self.take()
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise QueryError("empty parentheses", tok.offset, "put a query inside ( )")
            inner = self.parse_or()
            close = self.peek()
            if close.kind != ")":
                raise QueryError("unclosed '('", tok.offset, "add the matching ')'")
            self.take()
            return inner
        if tok.kind == "FIELD":
            return ScopeNode((tok.text,), self.parse_primary(), tok.offset)
        if tok.node is not None:
            return tok.node
        if tok.kind == "END":
            raise QueryError(
                "the query ends where a word was expected",
                tok.offset,
                "finish the expression or remove the trailing operator",
            )
        what = {")": "')'", "NEAR": "NEAR"}.get(tok.kind, tok.kind)
        hint = {
            ")": "remove it, or put a word before it",
            "NEAR": "NEAR goes between two words or phrases: UNCLOS NEAR/5 convention",
            "AND": "AND goes between two terms: a AND b",
            "OR": "OR goes between two terms: a OR b",
        }.get(tok.kind, "")
        raise QueryError(f"{what} where a word was expected", tok.offset, hint)


def _offset(node: Node) -> int:
    return node.offset


# The commonest query of a large rule set, one quoted phrase: the tree the parser would build,
# without tokenizing (a test holds that both agree).
_ONE_PHRASE = re.compile(r'\s*"([^"“”„*]*[^"“”„*\s][^"“”„*]*)"\s*')


def parse_query(text: str) -> Node:
    """Parse query text into a syntax tree; raises ``QueryError`` with the offset of a problem."""
    m = _ONE_PHRASE.fullmatch(text)
    if m is not None:
        return TermNode(m.group(1).strip(), m.start(1) - 1, quoted=True)
    return _Parser(text).parse()
