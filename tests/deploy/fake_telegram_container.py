"""Runs the fake Telegram Bot API (tests/fakes/telegram_api.py) inside a compose test container.

The fake listens on 127.0.0.1 inside the container; this script puts a small front on
0.0.0.0:8081 that forwards Bot API calls (``/bot<token>/<method>``) to it unchanged, and adds a
control API for the deployment test on the same port:

  POST /_test/user_sends  {"text": ..., "chat_id": ...}   a user writes to the bot
  GET  /_test/messages                                     what the bot sent, oldest first
  GET  /_test/ping                                         200 when up

Chats listed in FAKE_TELEGRAM_CHATS (comma-separated ids) exist from the start, so the bot can
send to them after this container is recreated. Rate limits are off: the test checks delivery,
not pacing. Test tooling only; not part of the image's application.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.telegram_api import FakeTelegramServer, RateLimits

LISTEN_PORT = 8081
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def build_front(fake: FakeTelegramServer, session: aiohttp.ClientSession) -> web.Application:
    upstream = fake.base_url.removesuffix("/bot")

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with session.request(
            request.method, upstream + request.path_qs, data=body, headers=headers
        ) as r:
            payload = await r.read()
            return web.Response(
                status=r.status, body=payload, content_type=r.content_type, charset=r.charset
            )

    async def user_sends(request: web.Request) -> web.Response:
        data: dict[str, Any] = await request.json()
        message = fake.user_sends(str(data["text"]), int(data["chat_id"]))
        return web.json_response({"ok": True, "message_id": message["message_id"]})

    async def messages(request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"chat_id": m.chat_id, "message_id": m.message_id, "text": m.text}
                for m in fake.messages()
            ]
        )

    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/_test/user_sends", user_sends)
    app.router.add_get("/_test/messages", messages)
    app.router.add_get("/_test/ping", ping)
    app.router.add_route("*", "/bot{tail:.*}", forward)
    app.router.add_route("*", "/file/bot{tail:.*}", forward)
    return app


async def main() -> None:
    token = os.environ["FAKE_TELEGRAM_TOKEN"]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with FakeTelegramServer([token], rate_limits=RateLimits(enabled=False)) as fake:
        for raw in os.environ.get("FAKE_TELEGRAM_CHATS", "").split(","):
            if raw.strip():
                fake.add_chat(int(raw), "private")
        # Long polls (getUpdates timeout) pass through: no total timeout on forwarded calls.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            runner = web.AppRunner(build_front(fake, session), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "0.0.0.0", LISTEN_PORT).start()
            print(f"fake Telegram Bot API on 0.0.0.0:{LISTEN_PORT}", flush=True)
            await stop.wait()
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
