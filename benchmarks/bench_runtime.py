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

In the same run, before the replicas: **the feed server alone**, as fast as a plain concurrent
client (aiohttp, ``--client-concurrency`` requests at once, in a process of its own) can fetch
the normal feeds for ``--server-probe`` seconds: the most polls per second this machine's local
feed server can answer, to compare the replicas' polls per second with. And in every phase,
**CPU per process** over the measured window (PostgreSQL with all its backends, this process,
which is the feed server and the fake Bot API, each replica with its parse worker) and the whole
machine's busy share, with the load average before and after: when three replicas do not poll
2.5x what one does, these say whether the feed server or the machine was the limit. The
fetch-to-alert latency is split at the delivery row's ``created_at`` (queued, in the poll's
ingest transaction) into fetch->queued and queued->Telegram. The wait for every feed's first
poll is bounded (``--warmup-max``); a phase that ran out of it says how many feeds were polled.

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
from tests.support.postgres import find_bin_dir, running_postgres
from tests.support.processes import start_bot
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
    first_served_wall: dict[tuple[str, int], float] = field(default_factory=dict)
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
        if key not in self.first_served:
            self.first_served[key] = time.monotonic()
            self.first_served_wall[key] = time.time()
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


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``, its live descendants and its reaped children (PostgreSQL's
    postmaster: every backend, also those that ended; a replica: its parse workers)."""
    try:
        proc = psutil.Process(pid)
        t = proc.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
    except psutil.Error:
        return float("nan")
    return float(total)


def _own_cpu_s() -> float:
    """This process alone (the feed server and the fake Bot API), not its children."""
    t = psutil.Process().cpu_times()
    return float(t.user + t.system)


def _postmaster_pid(pg: Any) -> int | None:
    pid_file = Path(pg._cwd) / "data" / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every core."""
    t = psutil.cpu_times()
    total = sum(t)
    idle = t.idle + getattr(t, "iowait", 0.0)
    return total - idle, total


CLIENT = r"""
import asyncio, sys, time
import aiohttp

async def main(urls, concurrency, seconds):
    done = errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.monotonic() + seconds

        async def worker(k):
            nonlocal done, errors
            i = k
            while time.monotonic() < deadline:
                try:
                    async with session.get(urls[i % len(urls)]) as response:
                        await response.read()
                    done += 1
                except Exception:
                    errors += 1
                i += concurrency

        t0 = time.monotonic()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        print(done / (time.monotonic() - t0), errors)

asyncio.run(main(sys.stdin.read().split(), int(sys.argv[1]), float(sys.argv[2])))
"""


async def feed_server_alone(args: argparse.Namespace) -> dict[str, float]:
    """The local feed server's own limit: a plain concurrent client in another process."""
    feeds = Feeds(args.feeds, args.interval, slow=set(), hanging=set())
    runner, port = await _serve(feeds)
    urls = [f"http://{HOSTS[i % len(HOSTS)]}:{port}/f/{i}.xml" for i in range(feeds.count)]
    load = os.getloadavg()[0]
    cpu0, (busy0, total0), t0 = _own_cpu_s(), _machine_busy(), time.monotonic()
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT,
        str(args.client_concurrency),
        str(args.server_probe),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await client.communicate("\n".join(urls).encode())
    t1 = time.monotonic()
    busy1, total1 = _machine_busy()
    await runner.cleanup()
    rate, errors = out.decode().split()
    return {
        "requests_per_s": float(rate),
        "errors": float(errors),
        "server_cpu_pct": (_own_cpu_s() - cpu0) / (t1 - t0) * 100,
        "machine_busy_pct": (busy1 - busy0) / (total1 - total0) * 100,
        "load_before": load,
    }


async def _latency_split(
    db_url: str, feeds: Feeds, t0_wall: float, t1_wall: float, sent_wall: dict[int, float]
) -> tuple[list[float], list[float]]:
    """Probe alerts measured in the window: (fetch -> queued, queued -> Telegram) seconds."""
    from sqlalchemy import text as sql

    store = SqlStorage(db_url)
    await store.open()
    try:
        async with store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sql(
                        "SELECT d.created_at, d.message_id, d.chat_id, a.title FROM deliveries d "
                        "JOIN articles a ON a.id = d.article_id "
                        "WHERE d.chat_id >= :lo AND d.chat_id < :hi AND d.state = 'sent'"
                    ),
                    {"lo": PROBE_CHAT0, "hi": PROBE_CHAT0 + PROBES},
                )
            ).all()
    finally:
        await store.close()
    to_queue: list[float] = []
    to_telegram: list[float] = []
    for created_at, message_id, chat_id, title in rows:
        for kind, feed, version in TOKEN.findall(str(title)):
            served = feeds.first_served_wall.get((kind, int(feed) * 1_000_000 + int(version)))
            if served is None or not t0_wall <= served < t1_wall:
                continue
            queued = created_at.timestamp()
            to_queue.append(queued - served)
            sent = sent_wall.get(chat_id * 1_000_000 + int(message_id or 0))
            if sent is not None:
                to_telegram.append(sent - queued)
    return to_queue, to_telegram


def _rss_mib(pid: int) -> float:
    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children())
    except psutil.Error:
        return float("nan")
    return float(total / 2**20)


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
            procs.append(start_bot(env, tmp, tmp / f"replica{replicas}-{n}.log"))
        changer = asyncio.create_task(feeds.change(rng))
        try:
            started = time.monotonic()
            while sum(1 for i in range(feeds.count) if feeds.polls.get(i)) < feeds.count:
                await asyncio.sleep(1)
                if time.monotonic() - started > args.warmup_max:
                    break  # bounded: measure anyway, and say how far the first polls got
            warmup = time.monotonic() - started
            first_polled = sum(1 for i in range(feeds.count) if feeds.polls.get(i)) / feeds.count
            t0 = time.monotonic()
            t0_wall = time.time()
            wall_offset = time.time() - time.monotonic()
            load_before = os.getloadavg()[0]
            postmaster = _postmaster_pid(pg)
            pg_cpu0 = _tree_cpu_s(postmaster) if postmaster else float("nan")
            cpu0 = _own_cpu_s()
            busy0, total0 = _machine_busy()
            replica_cpu0 = [_tree_cpu_s(p.pid) for p in procs]
            lags: list[float] = []
            while time.monotonic() - t0 < args.duration:
                await asyncio.sleep(1)
                for p in health:
                    lag = _metric(p, "newswatch_event_loop_lag_last_seconds")
                    if lag is not None:
                        lags.append(lag)
            t1 = time.monotonic()
            t1_wall = time.time()
            # Who had the CPU: this process serves every feed and the fake Telegram.
            bench_cpu = (_own_cpu_s() - cpu0) / (t1 - t0) * 100
            replica_cpus = [
                (_tree_cpu_s(p.pid) - c) / (t1 - t0) * 100
                for p, c in zip(procs, replica_cpu0, strict=True)
            ]
            pg_cpu = (
                (_tree_cpu_s(postmaster) - pg_cpu0) / (t1 - t0) * 100
                if postmaster
                else float("nan")
            )
            busy1, total1 = _machine_busy()
            load_after = os.getloadavg()[0]
            memory = [_rss_mib(p.pid) for p in procs]
        finally:
            feeds.stop.set()
            changer.cancel()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
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
        sent_wall: dict[int, float] = {}  # chat * 1e6 + message id -> when Telegram got it
        per_chat: defaultdict[int, itertools.count[int]] = defaultdict(itertools.count)
        for call in tg.calls:
            if call.method.lower() != "sendmessage" or call.status != 200:
                continue
            per_second[int(call.received_at)] += 1
            chat_id = int(call.params.get("chat_id", 0))
            # the fake numbers each chat's messages 1, 2, ... in the order it accepted them
            sent_wall[chat_id * 1_000_000 + next(per_chat[chat_id]) + 1] = (
                call.received_at + wall_offset
            )
            for kind, feed, version in TOKEN.findall(str(call.params.get("text", ""))):
                key = (kind, int(feed) * 1_000_000 + int(version))
                served = feeds.first_served.get(key)
                if served is None or not t0 <= served < t1:
                    continue
                (quiet_lat if kind == "quietstory" else alert_lat).append(call.received_at - served)
        to_queue, to_telegram = await _latency_split(db_url, feeds, t0_wall, t1_wall, sent_wall)
        result = {
            "replicas": replicas,
            "warmup_s": warmup,
            "first_polled": first_polled,
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
            "fetch_to_queued_p50_ms": _pct(to_queue, 0.5) * 1000,
            "queued_to_tg_p50_ms": _pct(to_telegram, 0.5) * 1000,
            "quiet_p99_s": _pct(quiet_lat, 0.99),
            "quiet_measured": len(quiet_lat),
            "max_msgs_per_s": max(per_second.values(), default=0),
            "feed_server_cpu_pct": bench_cpu,
            "replicas_cpu_pct": sum(replica_cpus),
            "replica_cpu_max_pct": max(replica_cpus),
            "postgres_cpu_pct": pg_cpu,
            "machine_busy_pct": (busy1 - busy0) / (total1 - total0) * 100,
            "load_before": load_before,
            "load_after": load_after,
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
    parser.add_argument("--warmup-max", type=float, default=600.0)
    parser.add_argument("--server-probe", type=float, default=15.0)
    parser.add_argument("--client-concurrency", type=int, default=64)
    args = parser.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("needs PostgreSQL's server binaries (apt-get install postgresql)")
    rows = []
    with running_postgres(bin_dir) as pg:
        alone = await feed_server_alone(args)
        with tempfile.TemporaryDirectory() as tmp:
            for n in (int(x) for x in args.replicas.split(",")):
                rows.append(await run_phase(n, args, pg, Path(tmp)))
    print(
        f"{args.feeds} feeds every {args.interval:g} s (10 % change), {args.slow} slow and "
        f"{args.hanging} hanging; group backlog {args.backlog}; {args.duration:g} s measured"
    )
    print(
        "feed server alone (plain client, {c} at once, {d:g} s): {r:.0f} requests/s, "
        "{e:.0f} errors, feed server CPU {cpu:.0f} % of one core, machine busy {m:.0f} % of "
        "{n} cores, load {load:.2f}".format(
            c=args.client_concurrency,
            d=args.server_probe,
            r=alone["requests_per_s"],
            e=alone["errors"],
            cpu=alone["server_cpu_pct"],
            m=alone["machine_busy_pct"],
            n=psutil.cpu_count(),
            load=alone["load_before"],
        )
    )
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(
            " | ".join(f"{row[k]:.3g}" if isinstance(row[k], float) else str(row[k]) for k in keys)
        )


if __name__ == "__main__":
    asyncio.run(main())
