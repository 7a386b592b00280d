"""Storage benchmark: ingest N articles (10% matching) into SQLite and PostgreSQL.

Prints, per database and schema: articles/s through ``SqlStorage.ingest_many`` (one
transaction per poll, as the pipeline does) and ``SqlStorage.ingest`` (one per article), and
the database size. Two schemas are loaded with the same articles in turns, batch by batch: this
one, and an anchor with migration 0002's full-text index recreated (what every database carried
up to 0013), so the cost 0014 removed is measured against the same machine load. For this schema
also: a baseline (a bare one-row INSERT per transaction on the same engine: the floor any ingest
pays) and the median / p95 times of the recent-matches queries and of the word-index lookup
search starts with. PostgreSQL is a throwaway server started from the installed binaries (as
the tests do); skipped when none is installed.

    .venv/bin/python benchmarks/bench_storage.py [--articles 100000] [--only sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bot.search.prefilter import FIRST_CHUNK
from core.models import Article, Chat, Hit, RuleMatch
from storage import SqlStorage
from storage.words import AllWords, Word
from tests.support.postgres import find_bin_dir, running_postgres

T0 = datetime(2025, 7, 1, tzinfo=UTC)
RULES = [f"rule-{i}" for i in range(20)]
_COMMON_LINES = (
    "the of and to in a is that for on with as by at from vietnam japan partnership sea fleet",
    "port trade summit minister island coast energy rice tariff export ministry talks agreement",
    "visit security investment climate delta bank strategic comprehensive unclos",
)
COMMON_WORDS = " ".join(_COMMON_LINES).split()
# A Zipf-like vocabulary: a few very common words, a long tail of rare ones (as in news text).
VOCABULARY = COMMON_WORDS + [f"term{i}" for i in range(20_000)]
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(VOCABULARY))]
TARGET_INGEST_PER_S = 2000
TARGET_QUERY_MS = 50.0
POLL_SIZE = 100
SINGLE_SAMPLE = 3000
# PostgreSQL plans with the statistics autovacuum's ANALYZE leaves; a throwaway database loaded
# in a minute may get none, and then plans the ingest's lookups of articles as sequential scans
# (which grow with the table) at a point that depends on the row width: without this, the
# anchor's wider rows kept index scans longer and it ingested faster than this schema.
ANALYZE_EVERY = 5000


def make_articles(
    n: int, seed: int = 7, prefix: str = "bench"
) -> list[tuple[Article, list[RuleMatch]]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.choices(VOCABULARY, WEIGHTS, k=80)
        title = " ".join(rng.choices(VOCABULARY, WEIGHTS, k=8)).capitalize() + f" {i}"
        article = Article(
            feed_url=f"http://127.0.0.1/feed-{i % 50}.xml",
            identity=f"guid:{prefix}-{i}",
            title=title,
            link=f"https://news.example/{prefix}/{i}",
            link_key=f"news.example/{prefix}/{i}",
            summary=" ".join(words[:25]),
            content=" ".join(words),
            published_at=T0 + timedelta(seconds=i),
            guid=f"{prefix}-{i}",
        )
        matches = []
        if i % 10 == 0:  # 10% match one or two rules
            for rule in rng.sample(RULES, k=rng.choice((1, 2))):
                matches.append(RuleMatch(rule, (Hit("partnership", "summary", 0, 11),)))
        out.append((article, matches))
    return out


async def timed(fn: Callable[[], Awaitable[object]], repeat: int = 30) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


class Variant(StrEnum):
    """The schemas loaded side by side in one run."""

    HEAD = "this schema"  # migrated to head: no full-text index since 0014
    ANCHOR = "anchor: + 0002 index"  # head plus 0002's index, as every database had up to 0013


async def add_0002_index(storage: SqlStorage) -> None:
    """Recreate migration 0002's full-text index (its own statements) on an open storage: the
    triggers and FTS5 table (SQLite) or generated column and GIN index (PostgreSQL) that
    migration 0014 drops, so the anchor pays on every write what they cost."""
    v0002 = importlib.import_module("storage.migrations.versions.0002_search")
    statements: list[str] = v0002.SQLITE_UP if storage.dialect == "sqlite" else v0002.POSTGRES_UP
    async with storage.engine.begin() as conn:
        for statement in statements:
            await conn.exec_driver_sql(statement)


async def bench(
    name: str, urls: dict[Variant, str], n: int, size: Callable[[str], Awaitable[int]]
) -> list[dict[str, str]]:
    """Load the same articles into one database per variant, batch by batch in turns (which
    goes first alternates), so both see the same machine load; then time the queries."""
    data = make_articles(n)
    stores = {variant: SqlStorage(url) for variant, url in urls.items()}
    spent = dict.fromkeys(stores, 0.0)
    single_spent = dict.fromkeys(stores, 0.0)
    new_deliveries = dict.fromkeys(stores, 0)
    for variant, storage in stores.items():
        await storage.open()
        if variant is Variant.ANCHOR:
            await add_0002_index(storage)
    try:
        for storage in stores.values():
            for chat in range(3):
                await storage.upsert_chat(Chat(id=1000 + chat))
                for rule in RULES[chat::3]:
                    await storage.subscribe(1000 + chat, rule)
        head = stores[Variant.HEAD]
        async with head.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, t TEXT)"))
        started = time.perf_counter()
        for i in range(min(n, 20000)):
            async with head.engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO bench_baseline (id, t) VALUES (:i, :t)"), {"i": i, "t": "x"}
                )
        baseline = min(n, 20000) / (time.perf_counter() - started)

        def in_turn(step: int) -> list[tuple[Variant, SqlStorage]]:
            order = list(stores.items())
            return order if step % 2 == 0 else order[::-1]

        # The pipeline's path: one poll's items per transaction (ingest_many).
        for i in range(0, n, POLL_SIZE):
            for variant, storage in in_turn(i // POLL_SIZE):
                started = time.perf_counter()
                results = await storage.ingest_many(
                    data[i : i + POLL_SIZE], T0 + timedelta(seconds=i)
                )
                spent[variant] += time.perf_counter() - started
                new_deliveries[variant] += sum(r.new_deliveries for r in results)
            if head.dialect == "postgresql" and (i + POLL_SIZE) % ANALYZE_EVERY == 0:
                for loaded in stores.values():  # untimed: autovacuum's work in a real database
                    async with loaded.engine.begin() as conn:
                        await conn.exec_driver_sql("ANALYZE")
        # One article per transaction (ingest), on a further sample.
        single_data = make_articles(SINGLE_SAMPLE, seed=11, prefix="single")
        for step, (article, matches) in enumerate(single_data):
            for variant, storage in in_turn(step):
                started = time.perf_counter()
                await storage.ingest(article, matches, T0)
                single_spent[variant] += time.perf_counter() - started
        # Queries on this schema only (0014 changes no query). Search asks the word index
        # for its first chunk of candidates, then replays the engine over them (bot/search).
        common = AllWords((Word("partnership"), Word("summit")))
        rare = AllWords((Word("term12345"),))
        recent_rule = await timed(lambda: head.recent_matches(rule_id="rule-3", limit=10))
        recent_chat = await timed(lambda: head.recent_matches(chat_id=1001, limit=10))
        search = await timed(lambda: head.word_candidates(common, limit=FIRST_CHUNK))
        search_rare = await timed(lambda: head.word_candidates(rare, limit=FIRST_CHUNK))
    finally:
        for storage in stores.values():
            await storage.close()
    query_ms = max(recent_rule[0], recent_chat[0], search[0], search_rare[0])
    rows = []
    for variant in stores:
        rate = n / spent[variant]
        ok = rate >= TARGET_INGEST_PER_S if name == "SQLite" else True
        timed_here = variant is Variant.HEAD
        rows.append(
            {
                "database": name,
                "schema": variant.value,
                "articles": f"{n:,}",
                f"ingest_many/s (batches of {POLL_SIZE})": f"{rate:,.0f}"
                + ("" if ok else " (below target)"),
                "ingest/s (1 per tx)": f"{SINGLE_SAMPLE / single_spent[variant]:,.0f}",
                "baseline tx/s": f"{baseline:,.0f}" if timed_here else "",
                "deliveries": f"{new_deliveries[variant]:,}",
                "size MiB": f"{await size(urls[variant]) / 2**20:,.1f}",
                "recent by rule ms": _ms(recent_rule) if timed_here else "",
                "recent by chat ms": _ms(recent_chat) if timed_here else "",
                "word index, common ms": _ms(search) if timed_here else "",
                "word index, rare ms": _ms(search_rare) if timed_here else "",
                "queries < 50 ms": ("yes" if query_ms < TARGET_QUERY_MS else "NO")
                if timed_here
                else "",
            }
        )
    return rows


def _ms(times: tuple[float, float]) -> str:
    return f"{times[0]:.1f} / {times[1]:.1f}"


def print_table(rows: list[dict[str, str]]) -> None:
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row[h] for h in headers) + " |")
    print("\nquery times: median / p95 over 30 runs; baseline: bare one-row INSERT per transaction")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-") as tmp:
        if args.only in (None, "sqlite"):
            files = {v: Path(tmp) / f"bench-{i}.db" for i, v in enumerate(Variant)}

            async def sqlite_size(url: str) -> int:
                name = Path(url.removeprefix("sqlite+aiosqlite:///")).name
                return await asyncio.to_thread(
                    lambda: sum(p.stat().st_size for p in Path(tmp).glob(f"{name}*"))
                )

            urls = {v: f"sqlite+aiosqlite:///{path}" for v, path in files.items()}
            rows += await bench("SQLite", urls, args.articles, sqlite_size)
        if args.only in (None, "postgresql"):
            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("PostgreSQL binaries not found: PostgreSQL skipped", file=sys.stderr)
            else:
                with running_postgres(bin_dir) as server:
                    urls = {v: await server.new_database() for v in Variant}

                    async def pg_size(url: str) -> int:
                        storage = SqlStorage(url)
                        await storage.open()
                        try:
                            async with storage.engine.connect() as conn:
                                value = await conn.scalar(
                                    text("SELECT pg_database_size(current_database())")
                                )
                        finally:
                            await storage.close()
                        return int(value or 0)

                    rows += await bench("PostgreSQL", urls, args.articles, pg_size)
    print(f"storage benchmark ({os.cpu_count()} CPUs)")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
