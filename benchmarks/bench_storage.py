"""Storage benchmark: ingest N articles (10% matching) into SQLite and PostgreSQL.

Prints, per database: articles/s through ``SqlStorage.ingest`` (one transaction per article,
as the pipeline does), a baseline in the same run (a bare one-row INSERT per transaction on the
same engine: the floor any ingest pays), the database size, and the median / p95 times of the
recent-matches and full-text search queries on the loaded data. PostgreSQL is a throwaway
server started from the installed binaries (as the tests do); skipped when none is installed.

    .venv/bin/python benchmarks/bench_storage.py [--articles 100000] [--only sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from core.models import Article, Chat, Hit, RuleMatch
from storage import SqlStorage
from tests.support.postgres import find_bin_dir, start_postgres

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


async def bench(name: str, url: str, n: int, size: Callable[[], Awaitable[int]]) -> dict[str, str]:
    data = make_articles(n)
    storage = SqlStorage(url)
    await storage.open()
    try:
        for chat in range(3):
            await storage.upsert_chat(Chat(id=1000 + chat))
            for rule in RULES[chat::3]:
                await storage.subscribe(1000 + chat, rule)
        async with storage.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, t TEXT)"))
        started = time.perf_counter()
        for i in range(min(n, 20000)):
            async with storage.engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO bench_baseline (id, t) VALUES (:i, :t)"), {"i": i, "t": "x"}
                )
        baseline = min(n, 20000) / (time.perf_counter() - started)

        # The pipeline's path: one poll's items per transaction (ingest_many).
        started = time.perf_counter()
        new_deliveries = 0
        for i in range(0, n, POLL_SIZE):
            results = await storage.ingest_many(data[i : i + POLL_SIZE], T0 + timedelta(seconds=i))
            new_deliveries += sum(r.new_deliveries for r in results)
        rate = n / (time.perf_counter() - started)
        # One article per transaction (ingest), on a further sample.
        single_data = make_articles(SINGLE_SAMPLE, seed=11, prefix="single")
        started = time.perf_counter()
        for article, matches in single_data:
            await storage.ingest(article, matches, T0)
        single_rate = SINGLE_SAMPLE / (time.perf_counter() - started)
        recent_rule = await timed(lambda: storage.recent_matches(rule_id="rule-3", limit=10))
        recent_chat = await timed(lambda: storage.recent_matches(chat_id=1001, limit=10))
        search = await timed(lambda: storage.search_articles("partnership summit", limit=10))
        search_rare = await timed(lambda: storage.search_articles("term12345", limit=10))
        db_bytes = await size()
    finally:
        await storage.close()
    ok = rate >= TARGET_INGEST_PER_S if name == "SQLite" else True
    query_ms = max(recent_rule[0], recent_chat[0], search[0], search_rare[0])
    return {
        "database": name,
        "articles": f"{n:,}",
        f"ingest_many/s (batches of {POLL_SIZE})": f"{rate:,.0f}"
        + ("" if ok else " (below target)"),
        "ingest/s (1 per tx)": f"{single_rate:,.0f}",
        "baseline tx/s": f"{baseline:,.0f}",
        "deliveries": f"{new_deliveries:,}",
        "size MiB": f"{db_bytes / 2**20:,.1f}",
        "recent by rule ms": f"{recent_rule[0]:.1f} / {recent_rule[1]:.1f}",
        "recent by chat ms": f"{recent_chat[0]:.1f} / {recent_chat[1]:.1f}",
        "search common ms": f"{search[0]:.1f} / {search[1]:.1f}",
        "search rare ms": f"{search_rare[0]:.1f} / {search_rare[1]:.1f}",
        "queries < 50 ms": "yes" if query_ms < TARGET_QUERY_MS else "NO",
    }


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
            path = Path(tmp) / "bench.db"

            async def sqlite_size() -> int:
                return await asyncio.to_thread(
                    lambda: sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
                )

            rows.append(
                await bench("SQLite", f"sqlite+aiosqlite:///{path}", args.articles, sqlite_size)
            )
        if args.only in (None, "postgresql"):
            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("PostgreSQL binaries not found: PostgreSQL skipped", file=sys.stderr)
            else:
                servers = start_postgres(bin_dir)
                server = next(servers)
                try:
                    url = await server.new_database()
                    storage_for_size = SqlStorage(url)

                    async def pg_size() -> int:
                        await storage_for_size.open()
                        try:
                            async with storage_for_size.engine.connect() as conn:
                                value = await conn.scalar(
                                    text("SELECT pg_database_size(current_database())")
                                )
                        finally:
                            await storage_for_size.close()
                        return int(value or 0)

                    rows.append(await bench("PostgreSQL", url, args.articles, pg_size))
                finally:
                    servers.close()
    print(f"storage benchmark ({os.cpu_count()} CPUs)")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
