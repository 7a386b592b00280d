"""Webhook mode's settings: an https URL (plain http for loopback test set-ups only), a secret
Telegram accepts (or one derived from the token), and what the mode needs besides."""

from __future__ import annotations

import re

import pytest

from bot.config.settings import load_settings
from core.errors import ConfigError

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
URL = "https://bot.example.org/telegram/webhook"


def test_off_by_default() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert not settings.telegram_webhook
    assert settings.telegram_webhook_url is None


def test_https_url_and_a_secret_derived_from_the_token() -> None:
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "NEWSWATCH_TELEGRAM_WEBHOOK_URL": URL}, env_file=None
    )
    assert settings.telegram_webhook
    assert settings.telegram_webhook_url == URL
    secret = settings.telegram_webhook_secret
    assert re.fullmatch(r"[0-9a-f]{64}", secret)  # within Telegram's 1-256 of A-Za-z0-9_-
    assert TOKEN.split(":")[1] not in secret
    other = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN + "x", "NEWSWATCH_TELEGRAM_WEBHOOK_URL": URL}, env_file=None
    )
    assert other.telegram_webhook_secret != secret  # a new token, a new secret
    again = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "NEWSWATCH_TELEGRAM_WEBHOOK_URL": URL}, env_file=None
    )
    assert again.telegram_webhook_secret == secret  # every replica derives the same one


def test_a_configured_secret_is_used_and_never_shown() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "NEWSWATCH_TELEGRAM_WEBHOOK_URL": URL,
            "NEWSWATCH_TELEGRAM_WEBHOOK_SECRET": "A-b_9" * 10,
        },
        env_file=None,
    )
    assert settings.telegram_webhook_secret == "A-b_9" * 10
    assert "A-b_9" not in repr(settings)


@pytest.mark.parametrize("secret", ["has space", "semi;colon", "ü", "x" * 257])
def test_a_secret_telegram_would_refuse_is_refused_at_start(secret: str) -> None:
    with pytest.raises(
        ConfigError, match="NEWSWATCH_TELEGRAM_WEBHOOK_SECRET: Telegram allows"
    ) as e:
        load_settings(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "NEWSWATCH_TELEGRAM_WEBHOOK_URL": URL,
                "NEWSWATCH_TELEGRAM_WEBHOOK_SECRET": secret,
            },
            env_file=None,
        )
    assert secret not in str(e.value)


@pytest.mark.parametrize(
    "url",
    ["http://bot.example.org/telegram/webhook", "ftp://bot.example.org/x", "bot.example.org"],
)
def test_the_url_must_be_https(url: str) -> None:
    with pytest.raises(ConfigError, match="NEWSWATCH_TELEGRAM_WEBHOOK_URL"):
        load_settings(
            {"TELEGRAM_BOT_TOKEN": TOKEN, "NEWSWATCH_TELEGRAM_WEBHOOK_URL": url}, env_file=None
        )


@pytest.mark.parametrize("host", ["127.0.0.1:8443", "localhost", "[::1]:9000"])
def test_plain_http_is_accepted_for_loopback_test_set_ups(host: str) -> None:
    url = f"http://{host}/telegram/webhook"
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "NEWSWATCH_TELEGRAM_WEBHOOK_URL": url}, env_file=None
    )
    assert settings.telegram_webhook_url == url


def test_webhook_mode_needs_a_token_and_the_http_server() -> None:
    with pytest.raises(ConfigError, match="needs TELEGRAM_BOT_TOKEN"):
        load_settings({"NEWSWATCH_TELEGRAM_WEBHOOK_URL": URL}, env_file=None)
    with pytest.raises(ConfigError, match="NEWSWATCH_HEALTH_ADDR"):
        load_settings(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "NEWSWATCH_TELEGRAM_WEBHOOK_URL": URL,
                "NEWSWATCH_HEALTH_ADDR": "",
            },
            env_file=None,
        )
