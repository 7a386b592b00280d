"""The fake Bot API's webhook mode, driven through the real python-telegram-bot ``Bot`` and a
real local receiver: what ``setWebhook`` accepts, delivery by POST with the secret, retries
until a 2xx, 409 for ``getUpdates`` meanwhile, and ``deleteWebhook``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits
from tests.fakes.telegram_webhook import SECRET_HEADER


class Receiver:
    """A local webhook that answers each POST with the next status of ``statuses`` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[str | None, dict[str, object]]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append((request.headers.get(SECRET_HEADER), json.loads(await request.text())))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegramServer) -> AsyncIterator[Bot]:
    b = Bot(DEFAULT_TOKEN, base_url=tg.base_url)
    await b.initialize()
    yield b
    await b.shutdown()


async def test_updates_are_posted_with_the_secret_and_retried_until_a_2xx(
    tg: FakeTelegramServer, bot: Bot
) -> None:
    receiver = Receiver([500, 502])  # two failures, then 200
    await receiver.start()
    try:
        assert await bot.set_webhook(
            receiver.url, secret_token="s3cret", allowed_updates=["message"]
        )
        info = await bot.get_webhook_info()
        assert info.url == receiver.url
        assert info.allowed_updates == ("message",)
        tg.user_sends("/start", 42)
        hook = tg.webhooks[tg.token]
        await tg.wait_for(lambda: bool(hook.delivered), what="the delivery")
        assert [secret for secret, _ in receiver.received] == ["s3cret"] * 3
        assert receiver.received[0][1]["message"]["text"] == "/start"  # type: ignore[index]
        (update_id,) = hook.delivered
        assert hook.statuses(update_id) == [500, 502, 200]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 502"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
    finally:
        await receiver.stop()


async def test_delete_webhook_brings_long_polling_back(tg: FakeTelegramServer, bot: Bot) -> None:
    await bot.set_webhook("https://bot.example.org/hook")
    tg.user_sends("/help", 43)  # held: the example host is never reached in a test
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/help"]  # kept, not dropped


async def test_what_set_webhook_refuses(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://bot.example.org/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="no spaces")
