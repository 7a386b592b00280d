"""Compiling rule files where it cannot stall an event loop: in a worker process.

A compile is pure Python and, for 100,000 rules, seconds of work that also leaves hundreds of
thousands of objects for the garbage collector: run in a thread of the bot, its collector
passes alone pause the event loop for hundreds of milliseconds. ``compile_off_loop`` runs
``compile_ruleset`` in a fresh worker process instead and brings the result back as a list of
pickled parts (``pack``): rules and terms in chunks of ``CHUNK`` rules, the rule set's derived
tables, and the word automaton's flat tables. The caller's side (``unpack``) rebuilds the rule
set part by part, awaiting between parts, so no single step holds the loop for long; the
automaton is rebuilt from its tables in one C call.

``pack`` and ``unpack_parts`` are pure; ``compile_off_loop`` starts a process (and so is not),
and changes nothing else: what to do between parts (``between``, e.g. ``gc.freeze`` so the
collector does not walk the new set again and again while it grows) is the caller's choice.
The worker process, which only compiles and exits, runs with its own collector off.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import multiprocessing
import pickle
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import re2

from core.errors import RuleError

from .compiler import _RE2_OPTIONS, compile_ruleset
from .engine import RegexSpec, RuleSet
from .wordscan import WORD_SCANNER, build_scanner, word_automaton_from_tables, word_automaton_tables

__all__ = ["CHUNK", "compile_off_loop", "pack", "unpack", "unpack_parts"]

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
    tables = word_automaton_tables(scanned) if WORD_SCANNER and scanned else None
    parts.append(pickle.dumps(("scanner", tables), _PROTOCOL))
    return parts


def _regex(source: str) -> RegexSpec:
    """The RegexSpec of ``/pattern/`` or ``/pattern/i`` (re2 patterns do not pickle)."""
    ignore_case = source.endswith("/i")
    pattern = source[1 : -2 if ignore_case else -1]
    return RegexSpec(source, re2.compile(("(?i)" if ignore_case else "") + pattern, _RE2_OPTIONS))


def unpack_parts(parts: list[bytes]) -> Iterator[RuleSet | None]:
    """Rebuild a packed rule set one part at a time: yields None after each part, then the
    rule set. Each step unpickles one part (a chunk of rules, or one table)."""
    rules = RuleSet.empty()
    compiled: list[Any] = []
    terms: list[Any] = []
    by_id: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    scanner: Any = None
    regexes: list[RegexSpec] = []
    warnings: tuple[str, ...] = ()
    for part in parts:
        item = pickle.loads(part)
        kind = item[0]
        if kind == "header":
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
    if scanner is not None:
        rules._scanner = word_automaton_from_tables(scanner)
    else:  # no C automaton here (or nothing to scan): build the fallback from the patterns
        rules._scanner = build_scanner({pid: rules._patterns[pid] for pid in rules._scanned})
    yield rules


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


async def compile_off_loop(
    sources: Mapping[str, str], between: Callable[[], object] | None = None
) -> RuleSet:
    """``compile_ruleset(sources)`` in a fresh worker process, rebuilt here part by part
    (awaiting ``asyncio.sleep(0)``, and calling ``between`` if given, after each part).
    Raises ``RuleError`` like ``compile_ruleset``. Where no worker process can be started,
    compiles in a thread instead (the loop then shares the GIL with the compile)."""
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        status, payload = await loop.run_in_executor(pool, _compile_job, dict(sources))
    except (BrokenProcessPool, OSError):
        return await asyncio.to_thread(compile_ruleset, sources)
    finally:
        pool.shutdown(wait=False)
    if status == "error":
        assert isinstance(payload, str)
        raise RuleError(payload)
    assert isinstance(payload, list)
    for result in unpack_parts(payload):
        if result is not None:
            return result
        if between is not None:
            maybe = between()
            if inspect.isawaitable(maybe):
                await maybe
        await asyncio.sleep(0)
    raise AssertionError("unpack_parts ends with the rule set")
