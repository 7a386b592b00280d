"""SIGTERM stops the real bot process cleanly: exit code 0, "stopped", and no ERROR line or
traceback in its log, even with a poll in flight that outlasts the shutdown grace."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.feed_server import FeedServer
from tests.support.processes import bot_env, start_bot

pytestmark = pytest.mark.timeout(60)

RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>http://x</link>'
    "<description>d</description><item><title>One</title><guid>one</guid></item></channel></rss>"
)


async def _until(cond: Callable[[], bool], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.05)


async def test_sigterm_with_a_poll_in_flight_logs_no_error(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    slow_started = asyncio.Event()
    release = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        slow_started.set()
        await release.wait()  # longer than the 4 s shutdown grace: the poll is cancelled
        return web.Response(text=RSS, content_type="application/rss+xml")

    quick = feed_server.static("/quick", RSS)
    slow_url = feed_server.route("/slow", slow)
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "rules" / "r.yaml").write_text(
        "rules:\n  - id: r\n    name: R\n    query: one\n", encoding="utf-8"
    )
    (config / "feeds.yaml").write_text(
        f'feeds:\n  - url: "{quick}"\n    interval: 1s\n  - url: "{slow_url}"\n    interval: 1s\n',
        encoding="utf-8",
    )
    env = bot_env(
        f"sqlite:///{tmp_path / 'nw.db'}",
        config,
        {
            "NEWSWATCH_TICK_INTERVAL": "0.2",
            "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
            "NEWSWATCH_HEALTH_ADDR": "127.0.0.1:0",
            "NEWSWATCH_LOG_LEVEL": "INFO",
        },
    )
    log = tmp_path / "bot.log"
    bot = start_bot(env, tmp_path, log)
    try:
        await asyncio.wait_for(slow_started.wait(), 30)
        await _until(lambda: feed_server.hits["/quick"] >= 2, 20)
        bot.send_signal(signal.SIGTERM)
        await _until(lambda: bot.poll() is not None, 15)
    finally:
        release.set()
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert bot.returncode == 0, text
    assert "stopped" in text, text
    assert "level=error" not in text, text
    assert "Traceback" not in text, text
