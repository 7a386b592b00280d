"""The web console's pages at 100,000 stored articles, on SQLite and PostgreSQL: median and p95
through aiohttp's test client, with the old full scan measured in the same run as the baseline.

Fills a fresh database (bulk inserts, so the triggers of the full-text and word indexes run;
then ``index_pending_words`` indexes the rows, as ingest would have, and (VACUUM) ANALYZE
gives the planner its statistics) with 100,000 articles
over 90 days (one in ten Vietnamese) and a match for about a third of them, then times each
page as a logged-in admin would load it: the stories page (first page, one rule, one
language), the rules list, the feeds page, the trends page and its chart (the first drawing
of a chart, and the chart again from the cache), the trend series of 90 days in UTC, a
whole-hour zone and a half-hour zone (their days read from days, hours, half hours), a
search for a common term, a search for a rare term (3 articles, all old) and the live
preview of a rule being edited (a replay over the last 30 days) for a rule matching most
articles, one matching 1 % and a rare one.
Baseline rows: the same rare search and previews through the full scan
(``scan_stored(..., use_index=False)``: every article read newest first through the engine,
to the 5 s time budget), which is what those pages did before the word index.
Target: under 100 ms per page. Needs PostgreSQL's server binaries for the PostgreSQL half.
Run: .venv/bin/python benchmarks/bench_web.py [--articles N] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support.postgres

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert
from sqlalchemy import text as sa_text

from bot.config.feeds_file import FeedsConfig
from bot.config.rule_files import load_rules_dir
from bot.config.settings import Settings
from bot.runtime.rules_reloader import RuleReloader
from bot.search import compile_query, scan_stored
from bot.services import RuleHolder, Services
from bot.trends.local_days import day_bounds, fold
from bot.trends.series import trend_series
from bot.trends.stats import WINDOW, judge_series
from bot.web import ConsoleDeps, mount_console
from core.clock import FakeClock
from core.models import FeedConfig
from storage import SqlStorage
from storage.schema import articles, matches
from tests.support.postgres import find_bin_dir, running_postgres

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEEDS = [f"http://127.0.0.1/feed{i}.xml" for i in range(20)]
RULES = """rules:
  - id: sea
    name: East Sea
    query: '"East Sea" OR "South China Sea"'
  - id: csp
    name: Strategic partnership
    query: '"strategic partnership"'
  - id: trade
    name: Trade
    query: 'tariffs OR exports'
"""
WORDS = [
    "minister",
    "talks",
    "economy",
    "growth",
    "province",
    "port",
    "bank",
    "rice",
    "harvest",
    "storm",
    "flood",
    "school",
    "hospital",
    "election",
    "council",
    "festival",
    "bridge",
    "railway",
    "energy",
    "solar",
    "wind",
    "market",
    "exports",
    "tariffs",
    "investment",
]
PHRASES = {"sea": "the East Sea", "csp": "a strategic partnership", "trade": "new tariffs"}
RARE = "zanzibarite"  # in 3 old articles only
TOPIC = "typhoon"  # in 1 % of the articles


def _rows(n: int, rng: random.Random) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    arts: list[dict[str, object]] = []
    found: list[dict[str, object]] = []
    for i in range(1, n + 1):
        when = NOW - timedelta(seconds=(n - i) * 90 * 86400 / n)
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        rule = rng.choice(list(PHRASES)) if rng.random() < 0.33 else None
        extra = f" {PHRASES[rule]} " if rule else ""
        if i in (5, 50, 500):
            extra += f" {RARE} "
        if i % 100 == 7:  # a topic in 1 % of the articles: a typical new rule's preview
            extra += f" {TOPIC} warning "
        vietnamese = i % 10 == 3
        title = f"Story {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}"
        if vietnamese:
            title = f"Bài {i}: Bộ trưởng nói về {rng.choice(WORDS)} ở Biển Đông"
        feed = FEEDS[i % len(FEEDS)]
        arts.append(
            {
                "id": i,
                "identity": f"guid:{i}",
                "feed_url": feed,
                "feed_name": f"Feed {i % len(FEEDS)}",
                "guid": str(i),
                "link": f"https://news.example/{i}",
                "link_key": f"news.example/{i}",
                "title_key": title.lower(),
                "title": title,
                "summary": words[:200] + extra,
                "content": words + extra,
                "author": None,
                "published_at": when,
                "first_seen_at": when,
                "updated_at": when,
                "edit_count": 0,
                "language": "vi" if vietnamese else "en",
            }
        )
        if rule:
            found.append(
                {
                    "rule_id": rule,
                    "article_identity": f"guid:{i}",
                    "article_id": i,
                    "hits": "[]",
                    "title": title,
                    "link": f"https://news.example/{i}",
                    "feed_url": feed,
                    "published_at": when,
                    "matched_at": when,
                }
            )
    return arts, found


async def fill(store: SqlStorage, n: int) -> int:
    arts, found = _rows(n, random.Random(15))
    async with store.engine.begin() as conn:
        for start in range(0, len(arts), 5000):
            await conn.execute(insert(articles), arts[start : start + 5000])
        for start in range(0, len(found), 5000):
            await conn.execute(insert(matches), found[start : start + 5000])
    return len(found)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


PREVIEW_RULE = "rules:\n  - id: drill\n    name: Drill\n    query: 'storm AND flood'\n"
TOPIC_RULE = f"rules:\n  - id: topic\n    name: Topic\n    query: '\"{TOPIC} warning\"'\n"
RARE_RULE = f"rules:\n  - id: rare\n    name: Rare\n    query: '{RARE} OR \"{RARE} bay\"'\n"


async def bench(
    label: str, url: str, n: int, root: Path
) -> list[tuple[str, int, float, float, int]]:
    """Fill a database at ``url``, serve the console over it and time each page."""
    rules_dir = root / "config" / "rules"
    rules_dir.mkdir(parents=True)
    (rules_dir / "main.yaml").write_text(RULES, encoding="utf-8")
    store = SqlStorage(url)
    await store.open()
    await store.sync_feeds([FeedConfig(url=u, name=u[-9:]) for u in FEEDS], NOW)
    started = time.perf_counter()
    n_matches = await fill(store, n)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    indexed = await store.index_pending_words()
    async with store.engine.connect() as conn:
        # statistics and a vacuumed heap, as autovacuum (PostgreSQL) or a periodic ANALYZE
        # would leave them, so the timings are not of autovacuum catching up with the load
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            sa_text("VACUUM ANALYZE" if store.dialect == "postgresql" else "ANALYZE")
        )
    print(
        f"{label}: filled {n:,} articles, {n_matches:,} matches in {filled:.1f} s; "
        f"word index for {indexed:,} articles in {time.perf_counter() - started:.1f} s"
    )
    holder = RuleHolder(load_rules_dir(rules_dir))

    async def on_error(message: str) -> None:
        return None

    reloader = RuleReloader(rules_dir, holder, on_error=on_error)
    settings = Settings(config_dir=root / "config", extra={})
    services = Services(settings, FeedsConfig(300.0, ()), store, holder, FakeClock(NOW))
    deps = ConsoleDeps(services, store, reloader.reload_now, None)
    app = web.Application()
    mount_console(app, deps)
    client = TestClient(TestServer(app))
    await client.start_server()
    rows: list[tuple[str, int, float, float, int]] = []
    try:
        token = deps.links.issue(1, True)
        await client.post(f"/login/{token}")
        body = await (await client.get("/rules")).text()
        found = re.search(r'name="csrf-token" content="([^"]*)"', body)
        csrf = found.group(1) if found else ""
        previews = {
            "POST preview": {"file": "new.yaml", "text": PREVIEW_RULE},
            "POST rare preview": {"file": "new.yaml", "text": RARE_RULE},
            "POST topic preview": {"file": "new.yaml", "text": TOPIC_RULE},
        }
        chart_days = iter([7, 30, 90] * 10)
        pages: list[tuple[str, str, int]] = [
            ("stories, first page", "/", 30),
            ("stories, one rule", "/?rule=csp", 30),
            ("stories, Vietnamese only", "/?lang=vi", 30),
            ("rules list", "/rules", 30),
            ("feeds", "/feeds", 30),
            ("trends, 90 days", "/trends?rule=sea&days=90", 30),
            ("trend chart PNG, first drawing", "CHART", 3),
            ("trend chart PNG, cached", "/trends/chart.png?rule=sea&days=30", 30),
            ("search, common term", "/search?q=harvest", 30),
            (f"search, rare term ({RARE})", f"/search?q={RARE}", 30),
            ("search, rare term, Vietnamese only", f"/search?q={RARE}&lang=vi", 30),
            ("rule preview, 30 days (storm AND flood)", "POST preview", 10),
            ("rule preview, 30 days, 1 % topic", "POST topic preview", 30),
            ("rule preview, 30 days, rare rule", "POST rare preview", 30),
        ]
        for name, path, runs in pages:
            times: list[float] = []
            status = 0
            for _ in range(runs):
                if path == "CHART":  # a chart not drawn yet: another rule and range each time
                    rule = ["csp", "trade", "sea"][len(times) % 3]
                    path_now = f"/trends/chart.png?rule={rule}&days={next(chart_days)}"
                t = time.perf_counter()
                if path.startswith("POST "):
                    resp = await client.post(
                        "/rules/check",
                        data=json.dumps(previews[path]),
                        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
                    )
                else:
                    resp = await client.get(path_now if path == "CHART" else path)
                await resp.read()
                times.append((time.perf_counter() - t) * 1000)
                status = resp.status
            rows.append((name, runs, statistics.median(times), pct(times, 0.95), status))
        # The trends' days in other zones, the query and the fold without the page, in turns
        # (so load shifts hit all alike): UTC days as they were read before (the anchor); UTC,
        # Asia/Ho_Chi_Minh and Asia/Kolkata, counted by day from a local midnight (one offset
        # all along); and Ho Chi Minh City's days folded from UTC hours, the way a period across
        # a DST change is counted.
        zones: dict[str, list[float]] = {}
        zone_of = {"before": "UTC", "hours": "Asia/Ho_Chi_Minh"}
        for _ in range(60):
            for zone in ("before", "UTC", "Asia/Ho_Chi_Minh", "Asia/Kolkata", "hours"):
                tz = ZoneInfo(zone_of.get(zone, zone))
                t = time.perf_counter()
                if zone == "before":  # UTC days as read before time zones: by date in SQL
                    first = (NOW - timedelta(days=90 + WINDOW - 1)).replace(hour=0, minute=0)
                    daily = {d: n for _r, d, n in await store.match_counts(first, "day", "sea")}
                    days = [first + timedelta(days=i) for i in range(90 + WINDOW)]
                    judge_series([daily.get(d, 0) for d in days])
                elif zone == "hours":
                    bounds = day_bounds(NOW.astimezone(tz).date(), 90 + WINDOW, tz)
                    hourly = await store.match_counts_by_step(bounds[0], 3600, "sea")
                    judge_series(fold({t: n for _r, t, n in hourly}, bounds))
                else:
                    await trend_series(store, "sea", NOW, 90, "day", tz)
                zones.setdefault(zone, []).append((time.perf_counter() - t) * 1000)
        for zone, times in zones.items():
            name = f"trend series, 90 days, {zone} days"
            if zone == "hours":
                name = "trend series, 90 days, Asia/Ho_Chi_Minh days folded from hours"
            elif zone == "before":
                name = "*anchor:* trend series, 90 days, UTC days as before time zones"
            rows.append((name, 60, statistics.median(times), pct(times, 0.95), 200))
        # The baseline, in the same run: what the rare search and the previews cost before the
        # word index (the engine over every article, newest first, to the time budget).
        tags: dict[str, tuple[str, ...]] = {f.url: f.tags for f in await store.list_feeds()}
        since = NOW - timedelta(days=30)
        rare = compile_query(RARE)
        topic = compile_query(f'"{TOPIC} warning"')
        drill, drill_ids = compile_query("storm AND flood"), ["query"]
        baselines = [
            ("baseline: full scan, rare search", rare, None, 25, 3),
            ("baseline: full scan, preview (storm AND flood)", drill, since, None, 3),
            ("baseline: full scan, 1 % topic preview", topic, since, None, 3),
            ("baseline: full scan, rare-rule preview", rare, since, None, 3),
        ]
        for name, rules, since_, stop_at, runs in baselines:
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                await scan_stored(
                    store, rules, drill_ids, tags, since=since_, stop_at=stop_at, use_index=False
                )
                times.append((time.perf_counter() - t) * 1000)
            rows.append((name, runs, statistics.median(times), pct(times, 0.95), 200))
    finally:
        await client.close()
        await store.close()
    return rows


def print_table(label: str, rows: list[tuple[str, int, float, float, int]]) -> None:
    print(f"\n{label}\n")
    print("| page | runs | median ms | p95 ms | status |")
    print("|---|---:|---:|---:|---:|")
    for name, runs, median, p95, status in rows:
        print(f"| {name} | {runs} | {median:.1f} | {p95:.1f} | {status} |")


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"web benchmark, {args.articles:,} articles, {os.cpu_count()} CPUs, load {load[0]:.2f}")
    results: list[tuple[str, list[tuple[str, int, float, float, int]]]] = []
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-web-") as tmp:
        if args.only in (None, "sqlite"):
            root = Path(tmp) / "sqlite"
            url = f"sqlite+aiosqlite:///{root / 'nw.db'}"
            results.append(("SQLite", await bench("SQLite", url, args.articles, root)))
        if args.only in (None, "postgresql"):
            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("PostgreSQL binaries not found: PostgreSQL skipped", file=sys.stderr)
            else:
                with running_postgres(bin_dir) as server:
                    url = await server.new_database()
                    root = Path(tmp) / "postgresql"
                    rows = await bench("PostgreSQL", url, args.articles, root)
                    results.append(("PostgreSQL", rows))
    for label, rows in results:
        print_table(label, rows)
    after = os.getloadavg()
    print(f"\nload average before {load[0]:.2f}, after {after[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
