"""Fixtures for the operations tests: a minimal Bot API server answering ``getMe``.

Only ``getMe`` is needed by the health and doctor checks; the full fake Bot API lives in
tests/fakes/telegram_api.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

GOOD_TOKEN = "123456789:AAHgoodTokenForTheOpsTests-0123456789"
BAD_TOKEN = "987654321:AAHrevokedTokenForTheOpsTests-987654"


@dataclass
class GetMeServer:
    base_url: str  # for Bot(token, base_url=...): the token is appended
    calls: list[str]


@pytest.fixture
async def getme_server() -> AsyncIterator[GetMeServer]:
    calls: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        calls.append(request.match_info["method"])
        if token != GOOD_TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "id": 123456789,
                    "is_bot": True,
                    "first_name": "newswatch",
                    "username": "newswatch_ops_bot",
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                },
            }
        )

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield GetMeServer(f"http://127.0.0.1:{port}/bot", calls)
    finally:
        await runner.cleanup()
