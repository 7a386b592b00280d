"""The multi-pattern scanner of the rule engine: which patterns occur in a normalised text.

A pattern is a term in scan form: " w1 w2 ... wn " (whole words) or " w1 w2 ... wn" (the last
word is a prefix, as in ``partner*``). The text is ``normalize.scan_form`` output (words
separated by single spaces). ``build_scanner`` returns an object whose ``scan(norm)`` gives
the ids of every pattern that occurs, overlapping occurrences included ("strategic
partnership" inside "comprehensive strategic partnership").

Two implementations, chosen at build time:

* ``rules._wordscan.WordAutomaton`` (C): Aho-Corasick over *words*. The automaton is built
  here, in Python (a trie of the patterns' words, failure links by breadth-first search), and
  run in C: one vocabulary probe and amortised O(1) transitions per word. Its nodes are
  words, not characters, so 100,000 patterns make a few hundred thousand small nodes and the
  scan stays near the cost of reading the text, where a character automaton takes one
  cache-missing step per character once it outgrows the cache.
* pyahocorasick over characters (the patterns as strings), when the C extension is not
  built. Same results (a property test runs both).

Does no I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping
from operator import itemgetter
from typing import Protocol

import ahocorasick

__all__ = [
    "WORD_SCANNER",
    "Scanner",
    "WordsScanner",
    "build_scanner",
    "eval_plans",
    "fields_with_words",
    "gather",
    "has_words",
    "locate_words",
    "near_words",
    "word_ids",
]

_second = itemgetter(1)


class Scanner(Protocol):
    def scan(self, norm: str, /) -> set[int]:
        """The ids of the patterns that occur in ``norm``."""
        ...


class WordsScanner(Scanner, Protocol):
    def scan_words(self, norm: str, /) -> tuple[set[int], bytes]:
        """``scan(norm)``, and the id of each word of ``norm`` (int32: -1 for a word not in
        the vocabulary, -2 at each sentence break), for ``has_words`` / ``locate_words``."""
        ...


class _CharScanner:
    """pyahocorasick over the characters of the scan form."""

    __slots__ = ("_automaton",)

    def __init__(self, patterns: Mapping[int, str]) -> None:
        automaton = ahocorasick.Automaton()
        for pid, pattern in patterns.items():
            automaton.add_word(pattern, pid)
        automaton.make_automaton()
        self._automaton = automaton

    def scan(self, norm: str, /) -> set[int]:
        return set(map(_second, self._automaton.iter(norm))) if norm else set()


class _EmptyScanner:
    __slots__ = ()

    def scan(self, norm: str, /) -> set[int]:
        return set()


_word_automaton: Callable[..., WordsScanner] | None
has_words: Callable[[bytes, bytes], bool] | None
fields_with_words: Callable[[list[bytes] | tuple[bytes, ...], bytes], int] | None
locate_words: Callable[[bytes, bytes, int], list[tuple[int, int, int, int]]] | None
near_words: Callable[[list[bytes] | tuple[bytes, ...], int, bytes, bytes, int], bool] | None


GatherTable = dict[int, tuple[int, ...]] | list[tuple[int, ...] | int | None]


def _gather(keys: set[int] | frozenset[int], table: GatherTable, out: set[int]) -> None:
    """For every key of ``keys`` that ``table`` holds (a dict of tuples, or a list indexed by
    the keys holding a tuple, an int for a tuple of one, or None), add the items of its
    tuple to ``out`` (the C module's ``gather``, in Python)."""
    if isinstance(table, dict):
        if table:
            out.update(*filter(None, map(table.get, keys)))
        return
    for key in keys:
        value = table[key]
        if isinstance(value, int):
            out.add(value)
        elif value:
            out.update(value)


Plans = dict[int, tuple[tuple[int, int, bool], ...]]


def _eval_plans(
    candidates: set[int],
    plans: Plans,
    union: set[int],
    seen: tuple[set[int], ...],
    ids: tuple[bytes, ...] | None,
    seqs: dict[int, bytes],
    fields_of: Callable[[int], int],
    fired: set[int],
) -> list[int]:
    """The C module's ``eval_plans``, in Python: add to ``fired`` the candidates whose AND
    plan holds (every (pattern, field mask, wanted) step: the pattern is, or is not, in one
    of the fields); return the candidates without a plan. A step's fields are the seen sets
    holding the pattern when the scan saw it, else those whose word ids hold its run, else
    ``fields_of(pattern)``."""
    rest: list[int] = []
    for index in candidates:
        plan = plans.get(index)
        if plan is None:
            rest.append(index)
            continue
        for pid, mask, want in plan:
            if pid in union:
                bits = 0
                for f, seen_f in enumerate(seen):
                    if pid in seen_f:
                        bits |= 1 << f
            elif ids is not None and fields_with_words is not None and pid in seqs:
                bits = fields_with_words(ids, seqs[pid])
            else:
                bits = fields_of(pid)
            if bool(bits & mask) is not want:
                break
        else:
            fired.add(index)
    return rest


gather: Callable[[set[int] | frozenset[int], GatherTable, set[int]], None]
eval_plans: Callable[
    [
        set[int],
        Plans,
        set[int],
        tuple[set[int], ...],
        tuple[bytes, ...] | None,
        dict[int, bytes],
        Callable[[int], int],
        set[int],
    ],
    list[int],
]
try:
    from rules._wordscan import WordAutomaton as _WordAutomaton
    from rules._wordscan import (
        eval_plans,
        fields_with_words,
        gather,
        has_words,
        locate_words,
        near_words,
    )
except ImportError:  # built without a C compiler
    _word_automaton = None
    has_words = locate_words = fields_with_words = near_words = None
    gather = _gather
    eval_plans = _eval_plans
else:
    _word_automaton = _WordAutomaton

WORD_SCANNER = _word_automaton is not None
"""Whether the C word automaton is in use (``newswatch doctor`` reports it)."""


def build_word_automaton(patterns: Mapping[int, str]) -> WordsScanner:
    """The C word automaton of ``patterns`` (pattern id -> scan form). Needs the extension."""
    return word_automaton_from_tables(word_automaton_tables(patterns))


WordTables = tuple[
    list[str], "array[int]", "array[int]", "array[int]", "array[int]",
    list[tuple[int, str, int]], "array[int]", int,
]  # fmt: skip


def word_automaton_from_tables(tables: WordTables) -> WordsScanner:
    """The C word automaton of tables from ``word_automaton_tables`` (one C call: the
    tables may come from another process, see ``rules.loader``)."""
    if _word_automaton is None:
        raise RuntimeError("rules._wordscan is not built (no C compiler at install time)")
    return _word_automaton(*tables)


def word_automaton_tables(
    patterns: Mapping[int, str], extra_words: Iterable[str] = ()
) -> WordTables:
    """The tables of the word automaton of ``patterns``: vocabulary, (parent, word, child)
    transitions, failure, output and prefix links, and how many words of the vocabulary are
    the patterns' (see rules/_wordscan.c). ``extra_words`` not in a pattern are added to the
    vocabulary after those, in order, so that ``scan_words`` gives them ids too. The
    vocabulary's order depends only on the arguments' order.

    Built with flat arrays (a node's parent, word and depth; failure links computed in order
    of depth) rather than a list of children per node: 100,000 patterns make ~300,000 nodes,
    and as many small lists would be objects for the garbage collector to walk, again and
    again while the rest of the compile allocates."""
    if _word_automaton is None:
        raise RuntimeError("rules._wordscan is not built (no C compiler at install time)")
    vocab: dict[str, int] = {}
    goto: dict[int, int] = {}  # node << 32 | word id -> child (an int key hashes fastest)
    parent = array("i", [0])
    word_of = array("i", [0])
    depth = array("i", [0])
    out_pid = array("i", [-1])
    prefixes: list[tuple[int, str, int]] = []
    for pid, pattern in patterns.items():
        words = pattern.strip(" ").split(" ")
        is_prefix = not pattern.endswith(" ")
        node = 0
        for word in words[:-1] if is_prefix else words:
            wid = vocab.setdefault(word, len(vocab))
            key = node << 32 | wid
            child = goto.get(key)
            if child is None:
                child = goto[key] = len(out_pid)
                out_pid.append(-1)
                parent.append(node)
                word_of.append(wid)
                depth.append(depth[node] + 1)
            node = child
        if is_prefix:
            prefixes.append((node, words[-1], pid))
        else:
            out_pid[node] = pid
    n_pattern_words = len(vocab)
    for word in extra_words:
        vocab.setdefault(word, len(vocab))
    n = len(out_pid)
    fail = array("i", bytes(4 * n))
    out_next = array("i", [-1]) * n
    with_prefix = {node for node, _, _ in prefixes}
    prefix_link = array("i", [-1]) * n
    prefix_link[0] = 0 if 0 in with_prefix else -1
    get = goto.get
    # breadth-first: a node's failure link needs those of all shallower nodes
    for child in _by_depth(depth):
        node = parent[child]
        wid = word_of[child]
        if node == 0:
            target = 0
        else:
            f = fail[node]
            while f and get(f << 32 | wid) is None:
                f = fail[f]
            target = get(f << 32 | wid, 0)
        fail[child] = target
        out_next[child] = target if out_pid[target] >= 0 else out_next[target]
        prefix_link[child] = child if child in with_prefix else prefix_link[target]
    triples = array("i")
    for key, child in goto.items():
        triples.extend((key >> 32, key & 0xFFFFFFFF, child))
    return list(vocab), triples, fail, out_pid, out_next, prefixes, prefix_link, n_pattern_words


def _by_depth(depth: array[int]) -> array[int]:
    """The nodes but the root (``depth[0]``) ordered by depth, in node order within a depth:
    ``sorted(range(1, n), key=depth.__getitem__)`` as a counting sort into an int32 array
    (at 100,000 patterns the sorted list and its ~300,000 int objects were ~13 MB more at
    the compile's memory peak)."""
    n = len(depth)
    starts = array("i", [0]) * (max(depth, default=0) + 2)
    for d in depth:
        starts[d + 1] += 1
    for d in range(1, len(starts)):
        starts[d] += starts[d - 1]
    order = array("i", bytes(4 * n))
    for node, d in enumerate(depth):
        order[starts[d]] = node
        starts[d] += 1
    return order[1:]  # the root, the only node of depth 0, comes first


def build_scanner(patterns: Mapping[int, str], *, words: bool | None = None) -> Scanner:
    """A scanner for ``patterns`` (pattern id -> scan form, each starting with a space).

    ``words``: use the C word automaton (True), pyahocorasick (False), or the word automaton
    when it is built (None, the default)."""
    if not patterns:
        return _EmptyScanner()
    use_words = WORD_SCANNER if words is None else words
    if use_words:
        return build_word_automaton(patterns)
    return _CharScanner(patterns)


def word_ids(words: Iterable[str], vocabulary: Mapping[str, int]) -> bytes | None:
    """The int32 ids of ``words`` in ``vocabulary`` (a ``has_words`` sequence), or None if
    one is not in it."""
    out = array("i")
    for word in words:
        wid = vocabulary.get(word)
        if wid is None:
            return None
        out.append(wid)
    return out.tobytes() if out else None
