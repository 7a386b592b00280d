"""The web console's pages at 100,000 stored articles: p50/p99 through aiohttp's test client.

Fills a fresh SQLite database (bulk inserts, the FTS triggers included) with 100,000 articles
over 90 days and a match for about a third of them, then times each page as a logged-in admin
would load it: the stories page (first page, and a filtered one), the trends page and its chart,
the feeds page, a search for a common term, a search for a rare term (the unfavourable case:
the newest-first scan finds nothing early and runs to its time budget), and the live preview of
a rule being edited (a replay over the last 30 days). Target: under 100 ms per page.
Run: .venv/bin/python benchmarks/bench_web.py [articles]
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from bot.config.feeds_file import FeedsConfig
from bot.config.rule_files import load_rules_dir
from bot.config.settings import Settings
from bot.runtime.rules_reloader import RuleReloader
from bot.services import RuleHolder, Services
from bot.web import ConsoleDeps, mount_console
from core.clock import FakeClock
from core.models import FeedConfig
from storage import SqlStorage
from storage.schema import articles, matches

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
        title = f"Story {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}"
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


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rules_dir = root / "config" / "rules"
        rules_dir.mkdir(parents=True)
        (rules_dir / "main.yaml").write_text(RULES, encoding="utf-8")
        store = SqlStorage(f"sqlite+aiosqlite:///{root / 'nw.db'}")
        await store.open()
        await store.sync_feeds([FeedConfig(url=u, name=u[-9:]) for u in FEEDS], NOW)
        started = time.perf_counter()
        n_matches = await fill(store, n)
        print(
            f"filled {n:,} articles, {n_matches:,} matches in {time.perf_counter() - started:.1f} s"
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
        try:
            token = deps.links.issue(1, True)
            await client.post(f"/login/{token}")
            body = await (await client.get("/rules")).text()
            found = re.search(r'name="csrf-token" content="([^"]*)"', body)
            csrf = found.group(1) if found else ""
            preview = {
                "file": "new.yaml",
                "text": "rules:\n  - id: drill\n    name: Drill\n    query: 'storm AND flood'\n",
            }
            pages: list[tuple[str, str, int]] = [
                ("stories, first page", "/", 30),
                ("stories, one rule", "/?rule=csp", 30),
                ("trends, 90 days", "/trends?rule=sea&days=90", 30),
                ("trend chart PNG", "/trends/chart.png?rule=sea&days=30", 10),
                ("feeds", "/feeds", 30),
                ("search, common term", "/search?q=harvest", 10),
                (f"search, rare term ({RARE})", f"/search?q={RARE}", 3),
                ("rule preview (30 days)", "POST /rules/check", 3),
            ]
            print(f"{'page':<34} {'runs':>4} {'p50 ms':>8} {'p99 ms':>8}  status")
            for label, path, runs in pages:
                times: list[float] = []
                status = 0
                for _ in range(runs):
                    t = time.perf_counter()
                    if path.startswith("POST "):
                        resp = await client.post(
                            path[5:],
                            data=json.dumps(preview),
                            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
                        )
                    else:
                        resp = await client.get(path)
                    await resp.read()
                    times.append((time.perf_counter() - t) * 1000)
                    status = resp.status
                print(
                    f"{label:<34} {runs:>4} {statistics.median(times):>8.1f} "
                    f"{pct(times, 0.99):>8.1f}  {status}"
                )
        finally:
            await client.close()
            await store.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
