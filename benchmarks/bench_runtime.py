"""Runtime benchmark: the real bot as 1 and as 3 replicas on one PostgreSQL, in the same run.

Serves ``--feeds`` feeds (default 20,000) from 127.0.0.1..127.0.0.16 (one port; several host
names, so the per-host bound of 4 polls does not cap the run), each polled every
``--interval`` seconds; every interval 10 % of the feeds change (one new story). Among them
``--slow`` feeds answer after 20 s and ``--hanging`` ones never finish their body. Ten probe
feeds change every interval with a story for a private chat of their own (fetch-to-alert
latency); a quiet chat gets a story every 10 s while a group holds a backlog of ``--backlog``
alerts (2,000). Telegram is the fake Bot API enforcing Telegram's limits (30 a second, 1 a second
per private chat, 20 a minute per group), talked to by the real python-telegram-bot.

For each replica count, on a fresh database: start the replicas, wait until every feed had its
first poll, then measure for ``--duration`` seconds: polls per second, lateness of each poll
against its due time (gap to the feed's previous poll minus its interval + 10 % jitter;
p50 / p99 / worst), event-loop lag (each replica's ``newswatch_event_loop_lag_last_seconds``,
sampled every second), memory per replica (RSS, parse worker included), fetch-to-alert latency
(p50 / p99), the quiet chat's latency (p99), and the most messages Telegram got in any second
(and its 429s).

Run: ``.venv/bin/python benchmarks/bench_runtime.py [--feeds 20000] [--interval 60]
[--duration 120] [--replicas 1,3]``. Needs PostgreSQL's server binaries (as the tests do).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

import psutil
from aiohttp import web

from core.models import Chat, ChatType, RuleMatch
from storage import SqlStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer
from tests.support.postgres import find_bin_dir, start_postgres
from tests.support.storage_helpers import make_article

ROOT = Path(__file__).resolve().parent.parent
HOSTS = [f"127.0.0.{i}" for i in range(1, 17)]
PROBES = 10
QUIET_CHAT = 8001
GROUP = -100800
PROBE_CHAT0 = 8100
TOKEN = re.compile(r"(probe\d+story|quietstory)-(\d+)-(\d+)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Feeds:
    """The feed server's state: versions, when each version was first served, every poll."""

    count: int
    interval_s: float
    slow: set[int]
    hanging: set[int]
    version: list[int] = field(default_factory=list)
    first_served: dict[tuple[str, int], float] = field(default_factory=dict)
    polls: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    quiet_version: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.version = [0] * self.count

    def body(self, i: int) -> str:
        v = self.version[i]
        if i < PROBES:
            title = f"probe{i}story-{i}-{v}"
        elif i == PROBES:
            title = f"quietstory-{i}-{self.quiet_version}"
            v = self.quiet_version
        else:
            title = f"benchstory-{i}-{v}"
        key = (title.split("-")[0], i * 1_000_000 + v)
        self.first_served.setdefault(key, time.monotonic())
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
            "<link>http://x/</link><description>d</description>"
            f"<item><title>{title}</title><guid>{title}</guid><link>http://x/{title}</link>"
            "</item></channel></rss>"
        )

    async def change(self, rng: random.Random) -> None:
        """Every interval: the probes and 10 % of the others change; the quiet feed every 10 s."""
        step = min(self.interval_s, 10.0)
        next_change = time.monotonic() + self.interval_s
        while not self.stop.is_set():
            await asyncio.sleep(step)
            self.quiet_version += 1
            if time.monotonic() >= next_change:
                next_change += self.interval_s
                for i in range(PROBES):
                    self.version[i] += 1
                for i in rng.sample(range(PROBES + 1, self.count), self.count // 10):
                    self.version[i] += 1

    async def serve(self, request: web.Request) -> web.StreamResponse:
        i = int(request.match_info["n"])
        self.polls[i].append(time.monotonic())
        if i in self.hanging:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            await resp.prepare(request)
            with contextlib.suppress(ConnectionError):  # the bot gave up on it: as intended
                while not self.stop.is_set():
                    await resp.write(b" ")
                    await asyncio.sleep(1.0)
            return resp
        if i in self.slow:
            await asyncio.sleep(20)
        return web.Response(text=self.body(i), content_type="application/rss+xml")


async def _serve(feeds: Feeds) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/f/{n}.xml", feeds.serve)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    port = _free_port()
    for host in HOSTS:
        await web.TCPSite(runner, host, port).start()
    return runner, port


def _config(folder: Path, feeds: Feeds, port: int) -> Path:
    (folder / "rules").mkdir(parents=True)
    rules = ["rules:"]
    for i in range(PROBES):
        rules += [f"  - id: probe{i}", f"    name: Probe {i}", f"    query: probe{i}story"]
    rules += ["  - id: quiet", "    name: Quiet", "    query: quietstory"]
    rules += ["  - id: backlog", "    name: Backlog", "    query: backlogstory"]
    (folder / "rules" / "bench.yaml").write_text("\n".join(rules) + "\n")
    lines = ["defaults:", f"  interval: {feeds.interval_s:g}s", "feeds:"]
    for i in range(feeds.count):
        lines.append(f'  - url: "http://{HOSTS[i % len(HOSTS)]}:{port}/f/{i}.xml"')
    (folder / "feeds.yaml").write_text("\n".join(lines) + "\n")
    return folder


async def _prepare_db(url: str, backlog: int) -> None:
    store = SqlStorage(url)
    await store.open()
    await store.upsert_chat(Chat(id=QUIET_CHAT, type=ChatType.PRIVATE))
    await store.subscribe(QUIET_CHAT, "quiet")
    for i in range(PROBES):
        await store.upsert_chat(Chat(id=PROBE_CHAT0 + i, type=ChatType.PRIVATE))
        await store.subscribe(PROBE_CHAT0 + i, f"probe{i}")
    await store.upsert_chat(Chat(id=GROUP, type=ChatType.SUPERGROUP, title="Desk"))
    await store.subscribe(GROUP, "backlog")
    now = datetime.now(UTC)
    # An old backlog (spread over hours: it does not fold into one burst digest).
    items = [(make_article(100_000 + n), [RuleMatch("backlog", ())]) for n in range(backlog)]
    for start in range(0, len(items), 500):
        await store.ingest_many(items[start : start + 500], now)
    await store.close()


def _metric(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def _start_replica(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "run"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its children (the parse worker)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children()]
        return sum(sum(p.cpu_times()[:2]) for p in procs)
    except psutil.Error:
        return 0.0


def _rss_mib(pid: int) -> float:
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children())
    except psutil.Error:
        return float("nan")
    return total / 2**20


async def run_phase(
    replicas: int, args: argparse.Namespace, pg: Any, tmp: Path
) -> dict[str, float]:
    rng = random.Random(replicas)
    feeds = Feeds(
        args.feeds,
        args.interval,
        slow=set(range(PROBES + 1, PROBES + 1 + args.slow)),
        hanging=set(range(PROBES + 1 + args.slow, PROBES + 1 + args.slow + args.hanging)),
    )
    runner, port = await _serve(feeds)
    db_url = await pg.new_database()
    await _prepare_db(db_url, args.backlog)
    config = _config(tmp / f"config{replicas}", feeds, port)
    result: dict[str, float] = {}
    async with FakeTelegramServer() as tg:
        for chat in [QUIET_CHAT, *(PROBE_CHAT0 + i for i in range(PROBES))]:
            tg.add_chat(chat)
        tg.add_chat(GROUP, "supergroup", title="Desk")
        health = [_free_port() for _ in range(replicas)]
        procs = []
        for n in range(replicas):
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")},
                "PYTHONPATH": str(ROOT),
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_URL": db_url,
                "NEWSWATCH_CONFIG_DIR": str(config),
                "NEWSWATCH_TICK_INTERVAL": "0.5",
                "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
                "NEWSWATCH_HEALTH_ADDR": f"127.0.0.1:{health[n]}",
                "NEWSWATCH_LOG_LEVEL": "WARNING",
            }
            procs.append(_start_replica(env, tmp, tmp / f"replica{replicas}-{n}.log"))
        changer = asyncio.create_task(feeds.change(rng))
        try:
            started = time.monotonic()
            while sum(1 for i in range(feeds.count) if feeds.polls.get(i)) < feeds.count:
                await asyncio.sleep(1)
                if time.monotonic() - started > 1800:
                    raise RuntimeError("the first polls did not finish within 30 minutes")
            warmup = time.monotonic() - started
            t0 = time.monotonic()
            me = psutil.Process()
            cpu0 = sum(me.cpu_times()[:2])
            replica_cpu0 = [_cpu_s(p.pid) for p in procs]
            lags: list[float] = []
            while time.monotonic() - t0 < args.duration:
                await asyncio.sleep(1)
                for p in health:
                    lag = _metric(p, "newswatch_event_loop_lag_last_seconds")
                    if lag is not None:
                        lags.append(lag)
            t1 = time.monotonic()
            # Who had the CPU: this process serves every feed and the fake Telegram.
            bench_cpu = (sum(me.cpu_times()[:2]) - cpu0) / (t1 - t0) * 100
            replica_cpu = sum(_cpu_s(p.pid) - c for p, c in zip(procs, replica_cpu0, strict=True))
            memory = [_rss_mib(p.pid) for p in procs]
        finally:
            feeds.stop.set()
            changer.cancel()
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        polls = [t for times in feeds.polls.values() for t in times if t0 <= t < t1]
        late: list[float] = []
        for i, times in feeds.polls.items():
            if i in feeds.slow or i in feeds.hanging:
                continue
            for a, b in itertools.pairwise(times):
                if t0 <= b < t1:
                    late.append(max(0.0, b - a - feeds.interval_s * 1.1))
        alert_lat: list[float] = []
        quiet_lat: list[float] = []
        per_second: dict[int, int] = defaultdict(int)
        for call in tg.calls:
            if call.method.lower() != "sendmessage" or call.status != 200:
                continue
            per_second[int(call.received_at)] += 1
            for kind, feed, version in TOKEN.findall(str(call.params.get("text", ""))):
                key = (kind, int(feed) * 1_000_000 + int(version))
                served = feeds.first_served.get(key)
                if served is None or not t0 <= served < t1:
                    continue
                (quiet_lat if kind == "quietstory" else alert_lat).append(call.received_at - served)
        result = {
            "replicas": replicas,
            "warmup_s": warmup,
            "polls_per_s": len(polls) / (t1 - t0),
            "late_p50": _pct(late, 0.5),
            "late_p99": _pct(late, 0.99),
            "late_max": max(late, default=float("nan")),
            "lag_p99_ms": _pct(lags, 0.99) * 1000,
            "lag_max_ms": max(lags, default=float("nan")) * 1000,
            "rss_mib": statistics.mean(memory),
            "alert_p50_ms": _pct(alert_lat, 0.5) * 1000,
            "alert_p99_ms": _pct(alert_lat, 0.99) * 1000,
            "alerts_measured": len(alert_lat),
            "quiet_p99_s": _pct(quiet_lat, 0.99),
            "quiet_measured": len(quiet_lat),
            "max_msgs_per_s": max(per_second.values(), default=0),
            "feed_server_cpu_pct": bench_cpu,
            "replicas_cpu_pct": replica_cpu / (t1 - t0) * 100,
            "429s": tg.too_many_requests,
        }
    await runner.cleanup()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20_000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--replicas", default="1,3")
    parser.add_argument("--slow", type=int, default=5)
    parser.add_argument("--hanging", type=int, default=5)
    parser.add_argument("--backlog", type=int, default=2000)
    args = parser.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("needs PostgreSQL's server binaries (apt-get install postgresql)")
    server = start_postgres(bin_dir)
    pg = next(server)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in (int(x) for x in args.replicas.split(",")):
                rows.append(await run_phase(n, args, pg, Path(tmp)))
    finally:
        server.close()
    print(
        f"{args.feeds} feeds every {args.interval:g} s (10 % change), {args.slow} slow and "
        f"{args.hanging} hanging; group backlog {args.backlog}; {args.duration:g} s measured"
    )
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(
            " | ".join(f"{row[k]:.3g}" if isinstance(row[k], float) else str(row[k]) for k in keys)
        )


if __name__ == "__main__":
    asyncio.run(main())
