"""``newswatch doctor`` and webhook mode: what ``getWebhookInfo`` says against the settings."""

from __future__ import annotations

import socket

from telegram import Bot

from bot.config.settings import Settings
from bot.ops.doctor import Status, check_telegram
from tests.bot.ops.conftest import GOOD_TOKEN
from tests.fakes.telegram_api import FakeTelegramServer


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(telegram: FakeTelegramServer, webhook_url: str | None) -> Settings:
    return Settings(
        telegram_bot_token=GOOD_TOKEN,
        telegram_api_base_url=telegram.base_url,
        telegram_webhook_url=webhook_url,
    )


async def _set_webhook(telegram: FakeTelegramServer, url: str) -> None:
    bot = Bot(GOOD_TOKEN, base_url=telegram.base_url)
    try:
        await bot.set_webhook(url, secret_token="s")
    finally:
        await bot.shutdown()


async def test_polling_mode_with_no_webhook_adds_nothing(telegram: FakeTelegramServer) -> None:
    findings = await check_telegram(_settings(telegram, None))
    assert [f.status for f in findings] == [Status.OK]


async def test_webhook_mode_before_the_bot_set_it_is_a_warning(
    telegram: FakeTelegramServer,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/telegram/webhook"
    findings = await check_telegram(_settings(telegram, url))
    assert findings[-1].status is Status.WARN
    assert f"Telegram has no webhook instead of {url}" in findings[-1].message


async def test_webhook_set_and_delivering_is_ok(telegram: FakeTelegramServer) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/telegram/webhook"
    await _set_webhook(telegram, url)
    findings = await check_telegram(_settings(telegram, url))
    assert findings[-1].status is Status.OK
    assert findings[-1].message == f"webhook {url}: set, 0 update(s) pending"


async def test_failing_deliveries_are_reported(telegram: FakeTelegramServer) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/telegram/webhook"  # nobody listens there
    await _set_webhook(telegram, url)
    telegram.user_sends("/help", 77)
    hook = telegram.webhooks[telegram.token]
    await telegram.wait_for(lambda: bool(hook.deliveries), what="a delivery attempt")
    findings = await check_telegram(_settings(telegram, url))
    assert findings[-1].status is Status.WARN
    assert "last delivery failed (Connection failed" in findings[-1].message
    assert "1 pending" in findings[-1].message


async def test_a_webhook_left_set_in_polling_mode_is_a_warning(
    telegram: FakeTelegramServer,
) -> None:
    await _set_webhook(telegram, "https://old.example.org/telegram/webhook")
    findings = await check_telegram(_settings(telegram, None))
    assert findings[-1].status is Status.WARN
    assert "a webhook is set (https://old.example.org/telegram/webhook)" in findings[-1].message
