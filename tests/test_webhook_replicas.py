"""Webhook mode with real replicas: two bot processes on one real PostgreSQL behind a
round-robin proxy, the fake Bot API delivering updates by POST through the proxy.

Two real bot processes (``python -m bot.cli.main run``) with ``NEWSWATCH_TELEGRAM_WEBHOOK_URL``
pointing at a tiny aiohttp round-robin proxy started by this test, which forwards each request
to the next replica's own HTTP server (502 when that one does not answer, as nginx does). The
fake Bot API (``tests.fakes.telegram_webhook``) POSTs every update with the secret header and
retries anything but a 2xx. Checked, in order: updates spread over both replicas are each
answered exactly once; a forged secret is refused by both and nothing is stored or answered; a
repeated delivery of one update (to both replicas) is answered once; with the sender killed
(SIGKILL) the other replica takes over and answers what was accepted meanwhile and after;
restarted without the webhook setting, a replica deletes the webhook and long-polls again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from storage import SqlStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer
from tests.support.postgres import PostgresServer
from tests.support.processes import bot_env, start_bot

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

WEBHOOK_PATH = "/telegram/webhook"
LEVEL_ERROR = re.compile(r"level=error")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RoundRobinProxy:
    """POSTs to ``WEBHOOK_PATH`` go to the next upstream in turn; 502 when it does not answer."""

    def __init__(self, upstreams: list[int]) -> None:
        self.upstreams = upstreams
        self.port = _free_port()
        self.forwarded: Counter[int] = Counter()  # upstream port -> requests it answered
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        port = self.upstreams[next(self._turn) % len(self.upstreams)]
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")
        }
        try:
            async with self._session.post(
                f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=await request.read(), headers=headers
            ) as upstream:
                body = await upstream.read()
                self.forwarded[port] += 1
                return web.Response(
                    status=upstream.status, body=body, content_type=upstream.content_type
                )
        except (aiohttp.ClientError, TimeoutError):
            return web.Response(status=502, text="Bad Gateway")


async def _until(cond: Callable[[], bool], limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit_s:g} s waiting for {what}")
        await asyncio.sleep(0.1)


async def _healthy(port: int, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica on port {port} never became healthy")
            await asyncio.sleep(0.2)


async def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait, without blocking the loop the fake Bot API answers on (a replica
    says goodbye to Telegram while it stops)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _stored(db_url: str, update_id: int) -> int:
    store = SqlStorage(db_url)
    await store.open()
    try:
        async with store.engine.connect() as conn:
            count = await conn.execute(
                text("SELECT count(*) FROM telegram_updates WHERE update_id = :u"),
                {"u": update_id},
            )
            return int(count.scalar_one())
    finally:
        await store.close()


async def test_two_replicas_behind_a_proxy_answer_every_update_once(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    db_url = await postgres_server.new_database()
    ports = [_free_port(), _free_port()]
    proxy = RoundRobinProxy(ports)
    await proxy.start()
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"replica{i}.log" for i in range(3)]
    async with FakeTelegramServer() as tg:
        base_env = bot_env(
            db_url,
            config,
            {
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "NEWSWATCH_CACHE_DIR": "",
                "NEWSWATCH_TICK_INTERVAL": "0.5",
            },
        )

        def env(i: int, *, webhook: bool = True) -> dict[str, str]:
            out = {**base_env, "NEWSWATCH_HEALTH_ADDR": f"127.0.0.1:{ports[i % 2]}"}
            if webhook:
                out["NEWSWATCH_TELEGRAM_WEBHOOK_URL"] = proxy.url
            return out

        def answers(chat_id: int) -> int:
            return len(tg.messages(chat_id))

        try:
            # The first replica is the sender: it sets the webhook.
            procs.append(start_bot(env(0), tmp_path, logs[0]))
            await _until(lambda: bool(tg.calls_of("setWebhook")), 90, "setWebhook")
            await _healthy(ports[0])
            procs.append(start_bot(env(1), tmp_path, logs[1]))
            await _healthy(ports[1])
            hook = tg.webhooks[tg.token]
            assert hook.url == proxy.url

            # 1. Updates spread over both replicas are each answered exactly once.
            chats = list(range(8101, 8107))
            for chat_id in chats:
                tg.user_sends("/help", chat_id)
            await _until(lambda: all(answers(c) >= 1 for c in chats), 60, "the answers")
            assert proxy.forwarded[ports[0]] >= 1
            assert proxy.forwarded[ports[1]] >= 1

            # 2. A forged secret: refused by both replicas, nothing stored, nothing answered.
            forged = {**next(iter(hook.delivered.values())), "update_id": 990001}
            forged["message"] = {**forged["message"], "chat": {"id": 8199, "type": "private"}}
            statuses = [await hook.post(forged, secret="not-the-secret") for _ in range(2)]
            assert statuses == [401, 401]
            assert await _stored(db_url, 990001) == 0

            # 3. One update delivered again, to each replica: answered once.
            repeated = min(hook.delivered)
            assert [await hook.redeliver(repeated) for _ in range(2)] == [200, 200]
            tg.user_sends("/help", 8110)  # a fresh one after the repeats
            await _until(lambda: answers(8110) >= 1, 60, "the answer after the repeats")
            await asyncio.sleep(2)  # what would be answered twice has been by now
            assert {c: answers(c) for c in [*chats, 8110, 8199]} == {
                **dict.fromkeys(chats, 1),
                8110: 1,
                8199: 0,
            }

            # 4. The sender is killed: the other replica takes over and keeps answering.
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait()
            later = [8121, 8122, 8123]
            for chat_id in later:
                tg.user_sends("/help", chat_id)
            await _until(lambda: all(answers(c) >= 1 for c in later), 90, "answers after a kill")
            await _until(lambda: len(tg.calls_of("setWebhook")) >= 2, 30, "the new sender")
            await asyncio.sleep(2)
            assert all(answers(c) == 1 for c in later)
            assert tg.webhooks[tg.token] is hook  # setWebhook again, the same webhook
            assert 502 in [d.status for d in hook.deliveries]  # the dead one was tried, too

            # 5. Back to long polling: the webhook is deleted and getUpdates answers again.
            await _stop(procs[1])
            procs.append(start_bot(env(2, webhook=False), tmp_path, logs[2]))
            await _until(lambda: tg.token not in tg.webhooks, 90, "deleteWebhook")
            await _until(lambda: bool(tg.calls_of("getUpdates")), 30, "long polling")
            tg.user_sends("/help", 8130)
            await _until(lambda: answers(8130) >= 1, 60, "an answer by long polling")
            info = tg.calls_of("deleteWebhook")[-1]
            assert info.params.get("drop_pending_updates") in (None, False, "false", "False")
        finally:
            for proc in procs:
                await _stop(proc)
            await proxy.stop()
    errors = {
        log.name: [
            line
            for line in log.read_text(errors="replace").splitlines()
            if LEVEL_ERROR.search(line)
        ]
        for log in logs
        if log.exists()
    }
    print(f"\nwebhook replicas: forwarded {dict(proxy.forwarded)}, ERROR lines {errors}")
    assert not any(errors.values()), errors
