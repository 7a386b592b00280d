"""The storage commands of the ``newswatch`` CLI: ``db upgrade``, ``search`` and ``export``.

Each is an async function taking the database URL and output streams and returning the process
exit code; ``bot/cli/main.py`` parses arguments and calls them. Storage errors become one line on
the error stream and exit code 1, never a traceback. No argument parsing here beyond turning
``--from``/``--to`` text into times.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

from bot.search import QueryProblem, search_stored
from core.errors import ConfigError, StorageError
from core.text import plural
from storage import SqlStorage
from storage.base import ExportFormat
from storage.explain import Explainer
from storage.migrate import current_revision, head_revision


async def cmd_db_upgrade(database_url: str, out: TextIO, err: TextIO | None = None) -> int:
    """Bring the database schema up to date (what the bot also does at start-up)."""
    err = err or sys.stderr
    storage = SqlStorage(database_url)
    try:
        await storage.open()  # runs the migrations
        revision = await current_revision(storage.engine)
    except StorageError as e:
        print(f"newswatch db upgrade: {e}", file=err)
        return 1
    finally:
        await storage.close()
    print(f"database is at revision {revision} (latest: {head_revision()})", file=out)
    return 0


async def cmd_search(
    database_url: str,
    words: Sequence[str],
    out: TextIO,
    limit: int = 10,
    err: TextIO | None = None,
) -> int:
    """Print the stored articles the query (the rule language: phrases, AND/OR/NOT, NEAR/n,
    fields, regexes) matches, newest first, with the count. Exit 2 for a bad query, printed
    as a rule error is (column and caret)."""
    err = err or sys.stderr
    query = " ".join(words).strip()
    if not query:
        print("newswatch search: give a query to search for", file=err)
        return 2
    storage = SqlStorage(database_url)
    try:
        await storage.open()
        result = await search_stored(storage, query, limit=limit)
    except QueryProblem as e:
        print(
            f"newswatch search: {e.message}" + (f" (column {e.column})" if e.column else ""),
            file=err,
        )
        if e.caret:
            print("  " + e.caret.replace("\n", "\n  "), file=err)
        if e.hint:
            print(f"  hint: {e.hint}", file=err)
        return 2
    except StorageError as e:
        print(f"newswatch search: {e}", file=err)
        return 1
    finally:
        await storage.close()
    if not result.total:
        print(f"no stored article matches: {query}", file=out)
        return 0
    shown = f", the newest {len(result.page)}" if result.total > len(result.page) else ""
    print(
        f"{plural(result.total, 'story')} match{'es' if result.total == 1 else ''}{shown}", file=out
    )
    for found in result.page:
        a = found.article
        when = a.published_at.strftime("%Y-%m-%d %H:%M UTC") if a.published_at else "-"
        print(a.title, file=out)
        print(
            f"  {when} · {a.feed_name or a.feed_url}" + (f" · {a.link}" if a.link else ""), file=out
        )
    return 0


async def cmd_export(
    database_url: str,
    out: TextIO,
    fmt: str = "csv",
    start: str | None = None,
    end: str | None = None,
    rule_ids: Sequence[str] = (),
    err: TextIO | None = None,
    known_rule_ids: Collection[str] = (),
    explain: Explainer | None = None,
) -> int:
    """Write matches as CSV or JSON Lines to ``out``; the row count goes to ``err``.

    ``start``/``end`` are ISO dates or datetimes (UTC when no offset is given); a date-only
    ``end`` includes that whole day. No ``rule_ids``: all rules. A rule id that is neither in
    ``known_rule_ids`` (the rule files) nor in any stored match is an error (exit 2), not an
    empty export: it is almost always a typo. ``explain`` locates the hits of matches stored
    without any (``Storage.export_matches``).
    """
    err = err or sys.stderr
    try:
        export_format = _export_format(fmt)
        start_at = parse_when(start, "--from") if start else None
        end_at = parse_when(end, "--to", end_of_day=True) if end else None
    except ConfigError as e:
        print(f"newswatch export: {e}", file=err)
        return 2
    storage = SqlStorage(database_url)
    try:
        await storage.open()
        if rule_ids:
            stored = {r for r, _day, _n in await storage.match_counts_per_day(_EPOCH)}
            unknown = [r for r in rule_ids if r not in stored and r not in set(known_rule_ids)]
            if unknown:
                print(
                    f"newswatch export: no rule called {', '.join(unknown)} in the rule files "
                    "or the stored matches (`newswatch rules check` lists the rules)",
                    file=err,
                )
                return 2
        rows = await storage.export_matches(
            out, export_format, start_at, end_at, list(rule_ids) or None, explain=explain
        )
    except StorageError as e:
        print(f"newswatch export: {e}", file=err)
        return 1
    finally:
        await storage.close()
    print(f"exported {plural(rows, 'match')}", file=err)
    return 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _export_format(fmt: str) -> ExportFormat:
    if fmt == "csv":
        return "csv"
    if fmt == "jsonl":
        return "jsonl"
    raise ConfigError(f"--format must be csv or jsonl, not {fmt!r}")


def parse_when(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """``2025-07-11`` or ``2025-07-11T08:00[+07:00]`` as an aware UTC datetime.

    A bare date is midnight UTC, or the next midnight with ``end_of_day`` (an exclusive end
    that includes the whole day). Raises ``ConfigError`` naming ``option``.
    """
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            when = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return when + timedelta(days=1) if end_of_day else when
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise ConfigError(f"{option}: {value!r} is not a date (YYYY-MM-DD) or ISO time") from e
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
