"""Nothing one feed does can stall the others: a hanging parse worker, a body that never ends
and an article page that never answers each cost only their own poll, which records an error;
a quick feed next to them keeps its schedule and /healthz stays green (it turns red only when
progress stops altogether: tests/bot/ops/test_watchdog.py)."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config.settings import load_settings
from bot.runtime.app import App
from tests.fakes.feed_server import FeedServer

ROOT = Path(__file__).resolve().parents[3]


def _rss(base: str, items: list[str]) -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>{base}/page/{t}</link><guid>{t}</guid>"
        f"<description>short</description></item>"
        for t in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<link>{base}</link><description>d</description>{entries}</channel></rss>"
    ).encode()


async def _wait(cond: Callable[[], bool], limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_stuck_stages_cost_only_their_own_feed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    base = feed_server.url("")
    fast_hits: list[float] = []
    counter = itertools.count()
    finished = asyncio.Event()  # lets the endless handlers end, so the server stops quickly

    async def fast(_request: web.Request) -> web.Response:
        fast_hits.append(time.monotonic())
        return web.Response(body=_rss(base, ["steady"]), content_type="application/rss+xml")

    async def changing(_request: web.Request) -> web.Response:
        # A new item on every request: every poll needs the parser.
        return web.Response(
            body=_rss(base, [f"change{next(counter)}"]), content_type="application/rss+xml"
        )

    async def trickle(request: web.Request) -> web.StreamResponse:
        # Headers, then one byte now and then, for ever: no idle gap, no end.
        resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await resp.prepare(request)
        while not finished.is_set():
            await resp.write(b" ")
            await asyncio.sleep(0.2)
        return resp

    async def never(_request: web.Request) -> web.Response:
        await finished.wait()
        return web.Response(status=503)

    feeds = {
        "fast": feed_server.route("/fast", fast),
        "changing": feed_server.route("/changing", changing),
        "trickle": feed_server.route("/trickle", trickle),
        "fulltext": feed_server.static("/fulltext", _rss(base, ["needs-page"])),
    }
    feed_server.route("/page/needs-page", never)
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config" / "rules", config / "rules")
    lines = ["feeds:"]
    for name, url in feeds.items():
        lines += [f'  - url: "{url}"', f"    name: {name}", "    interval: 1s"]
        if name == "fulltext":
            lines.append("    full_text: true")
    (config / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'nw.db'}",
            "NEWSWATCH_CONFIG_DIR": str(config),
            "NEWSWATCH_TICK_INTERVAL": "0.2",
            "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
            "NEWSWATCH_HEALTH_ADDR": "127.0.0.1:0",
            "NEWSWATCH_FETCH_TIMEOUT": "2",
            "NEWSWATCH_FETCH_IDLE_TIMEOUT": "1",
            "NEWSWATCH_PARSE_TIMEOUT": "1",
            "NEWSWATCH_FULL_TEXT_TIMEOUT": "1",
            "NEWSWATCH_STALL_AFTER": "20",
        },
        env_file=None,
    )
    app = App(settings, out=io.StringIO())
    await app.start()
    try:
        assert app.services is not None
        assert app._parser is not None
        assert app._health is not None
        storage = app.services.storage
        await _wait(lambda: len(fast_hits) >= 2, 10, "the quick feed's first polls")
        await _wait(lambda: bool(app._parser and app._parser.worker_pids()), 10, "a worker")
        (worker,) = app._parser.worker_pids()
        os.kill(worker, signal.SIGSTOP)  # the parse worker hangs from now on
        watched_from = len(fast_hits)
        await asyncio.sleep(6)
        gaps = [b - a for a, b in itertools.pairwise(fast_hits[watched_from - 1 :])]
        # interval 1 s, +10 % jitter, a 0.2 s tick: the quick feed never waited for the others.
        assert len(gaps) >= 4, gaps
        assert max(gaps) < 2.0, gaps

        changing_state = await storage.get_feed(feeds["changing"])
        trickle_state = await storage.get_feed(feeds["trickle"])
        fulltext_state = await storage.get_feed(feeds["fulltext"])
        assert changing_state is not None
        assert trickle_state is not None
        assert fulltext_state is not None
        assert "parsing took longer than 1 s" in (changing_state.last_error or "")
        assert changing_state.last_success_at is not None  # a fresh worker parsed on
        assert trickle_state.last_error == "timed out"
        assert trickle_state.consecutive_errors >= 1
        # The page that never answers is given up; the feed's poll itself went through.
        assert fulltext_state.last_error is None
        assert fulltext_state.last_success_at is not None

        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{app._health.bound_port}/healthz"
            async with http.get(url) as resp:
                assert resp.status == 200, await resp.text()
    finally:
        started_stop = time.monotonic()
        await app.stop()
        finished.set()
    assert time.monotonic() - started_stop < 8
