"""Compiling rule files where it cannot stall an event loop: in a worker process.

A compile is pure Python and, for 100,000 rules, seconds of work that also leaves hundreds of
thousands of objects for the garbage collector: run in a thread of the bot, its collector
passes alone pause the event loop for hundreds of milliseconds. ``compile_off_loop`` runs
``compile_ruleset`` in a fresh worker process instead and brings the result back as a list of
pickled parts (``pack``): rules and terms in chunks of ``CHUNK`` rules, the rule set's derived
tables, and the word automaton's flat tables. The caller's side (``unpack``) rebuilds the rule
set part by part, awaiting between parts, so no single step holds the loop for long; the
automaton is rebuilt from its tables in one C call.

``load_off_loop`` does the same with a ``rules.cache.RuleCache``: a set cached for the same
file contents is rebuilt from the cache file instead of compiled (the cache's file I/O runs in
a thread and lives in ``rules.cache``); a miss compiles in the worker and writes the cache.
Parts are unpickled with ``rules.cache.SafeUnpickler`` (the engine's data classes only) and
the rebuilt set's tables are checked for consistency (``ValueError`` if not), whether the parts
come from the worker or from a cache file.

``pack`` and ``unpack_parts`` are pure; ``compile_off_loop`` and ``load_off_loop`` start a
process (and so are not), and change nothing else: what to do between parts (``between``,
e.g. ``gc.freeze`` so the collector does not walk the new set again and again while it
grows) is the caller's choice. The worker process, which only compiles and exits, runs with
its own collector off.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import multiprocessing
import pickle
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import re2

from core.errors import RuleError

from .cache import RuleCache, safe_loads
from .compiler import _RE2_OPTIONS, compile_ruleset
from .engine import FIELDS, CompiledRule, RegexSpec, RuleSet, Term
from .wordscan import WORD_SCANNER, build_scanner, word_automaton_from_tables, word_automaton_tables

__all__ = ["CHUNK", "compile_off_loop", "load_off_loop", "pack", "unpack", "unpack_parts"]

log = logging.getLogger(__name__)

CHUNK = 500  # rules (or terms) per part: unpickling one takes a few ms
TABLE_CHUNK = 5_000  # items of a table per part
_PROTOCOL = pickle.HIGHEST_PROTOCOL
# RuleSet attributes that are plain data (lists, dicts, frozensets, tuples of ints and str):
# copied as they are. The rules, terms, regexes and scanner are rebuilt separately.
_TABLES = (
    "_patterns",
    "_needles",
    "_term_pattern",
    "_pattern_rules",
    "_sure_all",
    "_sure",
    "_check_patterns",
    "_trigger_patterns",
    "_always",
    "_limited",
    "_scanned",
    "_seq",
    "_extra_words",
    "_plans",
)


def pack(rules: RuleSet) -> list[bytes]:
    """A compiled rule set as pickled parts, to rebuild with ``unpack`` / ``unpack_parts``."""
    compiled = rules.compiled_rules
    terms = rules.terms
    parts = [
        pickle.dumps(
            (
                "header",
                len(compiled),
                len(terms),
                [r.source for r in rules.regexes],
                rules.warnings,
            ),
            _PROTOCOL,
        )
    ]
    parts += [
        pickle.dumps(("rules", list(compiled[i : i + CHUNK])), _PROTOCOL)
        for i in range(0, len(compiled), CHUNK)
    ]
    parts += [
        pickle.dumps(("terms", list(terms[i : i + CHUNK])), _PROTOCOL)
        for i in range(0, len(terms), CHUNK)
    ]
    for name in _TABLES:
        value = getattr(rules, name)
        if isinstance(value, list) and name != "_sure":
            kind, items = "list", value
        elif isinstance(value, dict):
            kind, items = "dict", list(value.items())
        elif isinstance(value, frozenset):
            kind, items = "set", sorted(value)
        else:
            parts.append(pickle.dumps(("table", name, value), _PROTOCOL))
            continue
        parts.append(pickle.dumps(("start", name, kind), _PROTOCOL))
        parts += [
            pickle.dumps(("items", name, items[i : i + TABLE_CHUNK]), _PROTOCOL)
            for i in range(0, len(items), TABLE_CHUNK)
        ]
    scanned = {pid: rules._patterns[pid] for pid in sorted(rules._scanned)}
    tables = None
    if WORD_SCANNER and scanned:  # the same vocabulary order as the set's own: same word ids
        tables = word_automaton_tables(scanned, rules._extra_words)
    parts.append(pickle.dumps(("scanner", tables), _PROTOCOL))
    return parts


def _regex(source: str) -> RegexSpec:
    """The RegexSpec of ``/pattern/`` or ``/pattern/i`` (re2 patterns do not pickle)."""
    ignore_case = source.endswith("/i")
    pattern = source[1 : -2 if ignore_case else -1]
    return RegexSpec(source, re2.compile(("(?i)" if ignore_case else "") + pattern, _RE2_OPTIONS))


def unpack_parts(parts: list[bytes]) -> Iterator[RuleSet | None]:
    """Rebuild a packed rule set one part at a time: yields None after each part, then the
    rule set. Each step unpickles one part (a chunk of rules, or one table). Raises
    ``ValueError`` (or ``pickle.UnpicklingError``) for parts that are not a consistent packed
    rule set; the checks are about the tables' shapes and ranges, not every expression."""
    rules = RuleSet.empty()
    compiled: list[Any] = []
    terms: list[Any] = []
    by_id: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    scanner: Any = None
    regexes: list[RegexSpec] = []
    warnings: tuple[str, ...] = ()
    header: tuple[int, int] | None = None
    for part in parts:
        item = safe_loads(part)
        if not isinstance(item, tuple) or not item:
            raise ValueError("not a packed rule set part")
        kind = item[0]
        if kind == "header":
            header = (item[1], item[2])
            regexes = [_regex(source) for source in item[3]]
            warnings = item[4]
        elif kind == "rules":
            compiled += item[1]
            by_id.update((r.info.id, r) for r in item[1])
        elif kind == "terms":
            terms += item[1]
        elif kind == "table":
            tables[item[1]] = item[2]
        elif kind == "start":
            tables[item[1]] = [] if item[2] == "list" else {} if item[2] == "dict" else set()
            kinds[item[1]] = item[2]
        elif kind == "items":
            table = tables[item[1]]
            if isinstance(table, list):
                table += item[2]
            else:
                table.update(item[2])
        else:
            scanner = item[1]
        yield None
    if header is None or set(tables) != set(_TABLES):
        raise ValueError("packed rule set: header or tables missing")
    yield from _check(header, compiled, terms, tables)
    rules.warnings = warnings
    rules._compiled = tuple(compiled)
    rules.terms = tuple(terms)
    rules.regexes = tuple(regexes)
    rules._by_id = by_id
    for name in _TABLES:
        value = tables[name]
        if kinds.get(name) == "set":
            value = frozenset(value)
            yield None  # ~100,000 ints each: a step of its own
        setattr(rules, name, value)
    rules._index_tables()
    yield None
    if scanner is not None:
        rules._scanner = word_automaton_from_tables(scanner)
    else:  # no C automaton here (or nothing to scan): build the fallback from the patterns
        rules._scanner = build_scanner({pid: rules._patterns[pid] for pid in rules._scanned})
    yield rules


def _check(
    header: tuple[int, int],
    compiled: list[Any],
    terms: list[Any],
    tables: dict[str, Any],
) -> Iterator[None]:
    """ValueError unless the rebuilt parts fit together: counts as in the header, the right
    types, every pattern, term and rule index of the tables in range (so a set rebuilt from
    a damaged or forged file cannot index out of its tables while matching). Yields None
    between steps (one table each). Does not walk the rules' expressions."""
    n_rules, n_terms = header
    if len(compiled) != n_rules or len(terms) != n_terms:
        raise ValueError("packed rule set: rule or term count differs from the header")
    if not all(type(r) is CompiledRule for r in compiled):
        raise ValueError("packed rule set: a rule is not a CompiledRule")
    yield None
    if not all(type(t) is Term for t in terms):
        raise ValueError("packed rule set: a term is not a Term")
    patterns, needles = tables["_patterns"], tables["_needles"]
    term_pattern = tables["_term_pattern"]
    if not (
        isinstance(patterns, list)
        and isinstance(needles, list)
        and len(needles) == len(patterns)
        and all(type(p) is str and p.startswith(" ") for p in patterns)
        and all(type(p) is str for p in needles)
        and isinstance(term_pattern, list)
        and len(term_pattern) == n_terms
        and isinstance(tables["_sure"], list)
        and len(tables["_sure"]) == len(FIELDS)
    ):
        raise ValueError("packed rule set: pattern tables do not fit")
    n_patterns = len(patterns)

    def ints_in(values: Any, limit: int) -> bool:
        values = list(values)
        return all(type(v) is int for v in values) and (
            not values or (min(values) >= 0 and max(values) < limit)
        )

    def table_ok(table: Any) -> bool:
        return (
            isinstance(table, dict)
            and ints_in(table, n_patterns)
            and all(type(v) is tuple for v in table.values())
            and ints_in((i for v in table.values() for i in v), n_rules)
        )

    def plan_ok(plan: Any) -> bool:
        return type(plan) is tuple and all(
            type(step) is tuple
            and len(step) == 3
            and type(step[0]) is int
            and 0 <= step[0] < n_patterns
            and type(step[1]) is int
            and type(step[2]) is bool
            for step in plan
        )

    yield None
    checks: list[tuple[Callable[[Any], bool], Any]] = [
        (lambda v: ints_in(v, n_patterns), term_pattern),
        (table_ok, tables["_pattern_rules"]),
        (table_ok, tables["_sure_all"]),
        *[(table_ok, t) for t in tables["_sure"]],
        (lambda v: ints_in(v, n_rules), tables["_always"]),
        (lambda v: ints_in(v, n_rules), tables["_limited"]),
        (lambda v: ints_in(v, n_patterns), tables["_check_patterns"]),
        (lambda v: ints_in(v, n_patterns), tables["_trigger_patterns"]),
        (lambda v: ints_in(v, n_patterns), tables["_scanned"]),
        (lambda v: ints_in(v, n_patterns), tables["_seq"]),
        (
            lambda v: all(type(b) is bytes and b and len(b) % 4 == 0 for b in v.values()),
            tables["_seq"],
        ),
        (lambda v: type(v) is tuple and all(type(w) is str for w in v), tables["_extra_words"]),
        (lambda v: ints_in(v, n_rules), tables["_plans"]),
        (lambda v: all(plan_ok(p) for p in v.values()), tables["_plans"]),
    ]
    for ok, value in checks:
        if not ok(value):
            raise ValueError("packed rule set: an index is out of range")
        yield None  # each table a step of its own (~100,000 ints in the largest)


def unpack(parts: list[bytes]) -> RuleSet:
    """``unpack_parts`` in one go (for a caller without an event loop)."""
    *_, result = unpack_parts(parts)
    assert result is not None
    return result


def _compile_job(sources: dict[str, str]) -> tuple[str, list[bytes] | str]:
    """The worker's job: ("ok", packed parts) or ("error", the RuleError's message). The
    worker process exists for this one job, so turning its collector off changes nobody
    else's process: the compile's objects are all kept, and the process exits."""
    gc.disable()
    try:
        return "ok", pack(compile_ruleset(sources))
    except RuleError as e:
        return "error", str(e)


def _compile_in_thread(sources: dict[str, str]) -> list[bytes]:
    return pack(compile_ruleset(sources))


async def _compile_parts(sources: Mapping[str, str]) -> list[bytes]:
    """``pack(compile_ruleset(sources))`` in a fresh worker process (in a thread where no
    process can be started). Raises ``RuleError`` like ``compile_ruleset``."""
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        status, payload = await loop.run_in_executor(pool, _compile_job, dict(sources))
    except (BrokenProcessPool, OSError):
        return await asyncio.to_thread(_compile_in_thread, dict(sources))
    finally:
        pool.shutdown(wait=False)
    if status == "error":
        assert isinstance(payload, str)
        raise RuleError(payload)
    assert isinstance(payload, list)
    return payload


async def _rebuild(parts: list[bytes], between: Callable[[], object] | None) -> RuleSet:
    """``unpack_parts(parts)`` on the loop, awaiting (and calling ``between``) after each part."""
    for result in unpack_parts(parts):
        if result is not None:
            return result
        if between is not None:
            maybe = between()
            if inspect.isawaitable(maybe):
                await maybe
        await asyncio.sleep(0)
    raise AssertionError("unpack_parts ends with the rule set")


async def compile_off_loop(
    sources: Mapping[str, str], between: Callable[[], object] | None = None
) -> RuleSet:
    """``compile_ruleset(sources)`` in a fresh worker process, rebuilt here part by part
    (awaiting ``asyncio.sleep(0)``, and calling ``between`` if given, after each part).
    Raises ``RuleError`` like ``compile_ruleset``. Where no worker process can be started,
    compiles in a thread instead (the loop then shares the GIL with the compile)."""
    return await _rebuild(await _compile_parts(sources), between)


SMALL_SOURCES = 50_000
"""Sources (characters in all) that ``load_off_loop`` compiles on the loop itself: a few
hundred rules compile in tens of milliseconds, less than starting a worker process takes."""


async def load_off_loop(
    sources: Mapping[str, str],
    cache: RuleCache | None = None,
    between: Callable[[], object] | None = None,
) -> RuleSet:
    """The rule set of ``sources``: rebuilt from ``cache`` when it holds a valid file for
    exactly these sources (and this engine), else compiled like ``compile_off_loop`` (small
    sources, ``SMALL_SOURCES``, on the loop) and written to the cache. Raises ``RuleError``
    like ``compile_ruleset``; a bad cache file is logged and ignored, never an error. Small
    sources are not cached (compiling them is about as fast as reading a cache file)."""
    small = sum(map(len, sources.values())) < SMALL_SOURCES
    if small:
        return compile_ruleset(sources)
    if cache is None:
        return await compile_off_loop(sources, between)
    key, parts = await asyncio.to_thread(cache.lookup, dict(sources))
    if parts is not None:
        try:
            return await _rebuild(parts, between)
        except Exception as e:  # ValueError, UnpicklingError...: never fatal, compile instead
            log.warning("rules cache %s ignored: %s", cache.path(key), e)
    parts = await _compile_parts(sources)
    await asyncio.to_thread(cache.store, key, parts)
    return await _rebuild(parts, between)
