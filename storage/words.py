"""The word index: each stored article's words as the rule engine folds them, and the word
conditions a search or rule preview asks it for.

Why not the full-text index of migration 0002 (dropped by 0014)? It tokenized differently from
the rule engine (SQLite's porter stemmer, PostgreSQL's English stemmer and stop words, no accent
folding on PostgreSQL, host names and paths kept whole, an emoji inside a word splitting it), so
a query there could miss an article the engine matches. This index holds exactly the engine's words
(``rules.normalize.fast_tokens``: accents, case and plurals folded), so a condition derived from
a rule ("all of these words", "any of these", "a word starting with ...") is a necessary
condition for the rule, and ``candidates + engine == full scan + engine``.

Tokens: a folded word of ASCII letters and digits is its own token; any other is ``u`` and the
hex of its UTF-8 (so both databases' tokenizers see only ``[a-z0-9]``, and a prefix of a word is
a prefix of its token); tokens are cut at ``MAX_TOKEN`` characters. A collision (a real word
"u6162") or a cut only adds candidates, which the engine then rejects: never a missed article.
Pure: builds tokens and query text, does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rules.normalize import fast_tokens

MAX_TOKEN = 120  # PostgreSQL refuses lexemes over 2 KB; a word this long is a prefix anyway
MAX_QUERY_TOKENS = 2000  # a larger condition is not worth an index query: scan instead
MAX_QUERY_DEPTH = 64  # FTS5 refuses expressions nested deeper than 256
_PLAIN = re.compile(r"[a-z0-9]+")
_HEXLIKE = re.compile(r"u[0-9a-f]*")


def token(word: str) -> str:
    """The index token of one folded word."""
    plain = word if _PLAIN.fullmatch(word) else "u" + word.encode("utf-8").hex()
    return plain[:MAX_TOKEN]


def decides_exactly(word: str) -> bool:
    """Whether holding ``token(word)`` is the same as holding ``word``: not when the token was
    cut, nor when it looks like a hex token (an ASCII word "u6d" and a non-ASCII word could
    share it)."""
    t = token(word)
    return len(t) < MAX_TOKEN and not _HEXLIKE.fullmatch(t)


def article_tokens(title: str, summary: str, content: str) -> list[str]:
    """The distinct index tokens of an article's three fields, sorted."""
    found: set[str] = set()
    for text in (title, summary, content):
        if text:
            found.update(fast_tokens(text))
    return sorted({token(w) for w in found})


@dataclass(frozen=True, slots=True)
class Word:
    """The article holds this folded word (``prefix``: a word starting with it)."""

    word: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class AllWords:
    parts: tuple[WordCondition, ...]


@dataclass(frozen=True, slots=True)
class AnyWords:
    parts: tuple[WordCondition, ...]


WordCondition = Word | AllWords | AnyWords


def _alternatives(w: Word) -> list[tuple[str, bool]]:
    """(token, is a prefix) pairs any of which an article holding ``w`` has."""
    if not w.prefix:
        return [(token(w.word), False)]
    encoded = ("u" + w.word.encode("utf-8").hex())[:MAX_TOKEN]
    if _PLAIN.fullmatch(w.word):
        # an ASCII prefix also starts words with non-ASCII letters further on (hex tokens)
        return [(w.word[:MAX_TOKEN], True), (encoded, True)]
    return [(encoded, True)]


def count_tokens(cond: WordCondition) -> int:
    if isinstance(cond, Word):
        return len(_alternatives(cond))
    return sum(count_tokens(p) for p in cond.parts)


def depth(cond: WordCondition) -> int:
    """How deeply ANDs and ORs nest in ``cond`` (a word alone: 1)."""
    if isinstance(cond, Word):
        return 1
    return 1 + max(depth(p) for p in cond.parts)


def fts5_query(cond: WordCondition) -> str:
    """The condition as an SQLite FTS5 MATCH expression (tokens quoted, never syntax)."""
    if isinstance(cond, Word):
        alts = [f'"{t}"' + ("*" if p else "") for t, p in _alternatives(cond)]
        return alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"
    op = " AND " if isinstance(cond, AllWords) else " OR "
    return "(" + op.join(fts5_query(p) for p in cond.parts) + ")"


def tsquery(cond: WordCondition) -> str:
    """The condition as PostgreSQL ``tsquery`` input (lexemes taken as they are)."""
    if isinstance(cond, Word):
        alts = [f"'{t}'" + (":*" if p else "") for t, p in _alternatives(cond)]
        return alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")"
    op = " & " if isinstance(cond, AllWords) else " | "
    return "(" + op.join(tsquery(p) for p in cond.parts) + ")"


def words_text(tokens: Iterable[str]) -> str:
    """The tokens as the SQLite index stores them (one space between)."""
    return " ".join(tokens)
