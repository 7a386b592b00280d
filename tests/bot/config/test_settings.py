"""Settings validation: good values load, bad ones name the setting in one line."""

from pathlib import Path

import pytest

from bot.config.settings import (
    DEFAULT_DATABASE_URL,
    load_settings,
    parse_duration,
)
from core.errors import ConfigError

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def test_defaults_use_sqlite_under_data_and_console_mode() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert not settings.telegram_enabled
    assert settings.feeds_file == Path("config/feeds.yaml")
    assert settings.rules_dir == Path("config/rules")


def test_environment_values_are_parsed_into_types() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "DATABASE_URL": "postgres://nw:secret@db/newswatch",
            "ADMIN_IDS": "42, 7",
            "NEWSWATCH_TIMEZONE": "Asia/Ho_Chi_Minh",
            "NEWSWATCH_POLL_INTERVAL": "10m",
            "NEWSWATCH_ALERT_ON_FIRST_POLL": "yes",
        },
        env_file=None,
    )
    assert settings.telegram_bot_token == TOKEN
    assert settings.database_url == "postgresql+asyncpg://nw:secret@db/newswatch"
    assert settings.admin_ids == frozenset({42, 7})
    assert settings.poll_interval_s == 600
    assert settings.alert_on_first_poll is True
    assert str(settings.tz) == "Asia/Ho_Chi_Minh"


def test_env_file_is_read_and_real_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_IDS=1\nNEWSWATCH_TIMEZONE=Europe/Paris\n", encoding="utf-8")
    settings = load_settings({"ADMIN_IDS": "2"}, env_file=env_file)
    assert settings.admin_ids == frozenset({2})
    assert settings.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"ADMIN_IDS": "42,bob"}, "ADMIN_IDS"),
        ({"NEWSWATCH_TIMEZONE": "Mars/Olympus"}, "NEWSWATCH_TIMEZONE"),
        ({"NEWSWATCH_POLL_INTERVAL": "soon"}, "NEWSWATCH_POLL_INTERVAL"),
        ({"NEWSWATCH_POLL_INTERVAL": "0"}, "NEWSWATCH_POLL_INTERVAL"),
        ({"NEWSWATCH_ALERT_ON_FIRST_POLL": "maybe"}, "NEWSWATCH_ALERT_ON_FIRST_POLL"),
        ({"NEWSWATCH_LOG_FORMAT": "xml"}, "NEWSWATCH_LOG_FORMAT"),
        ({"NEWSWATCH_HEALTH_ADDR": "nowhere"}, "NEWSWATCH_HEALTH_ADDR"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
    ],
)
def test_bad_values_raise_one_line_naming_the_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env, env_file=None)
    message = str(err.value)
    assert message.startswith(names + ":")
    assert "\n" not in message


def test_a_malformed_token_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"TELEGRAM_BOT_TOKEN": "12345:short-secret"}, env_file=None)
    assert "short-secret" not in str(err.value)


def test_durations() -> None:
    assert parse_duration("90", "x") == 90
    assert parse_duration("5m", "x") == 300
    assert parse_duration("1.5h", "x") == 5400
    assert parse_duration(2, "x") == 2
    with pytest.raises(ConfigError, match=r"^x: "):
        parse_duration(True, "x")


def test_the_rules_cache_defaults_under_data_and_an_empty_value_disables_it() -> None:
    assert load_settings({}, env_file=None).rules_cache_dir == Path("data") / "cache" / "rules"
    chosen = load_settings({"NEWSWATCH_CACHE_DIR": "/var/cache/nw"}, env_file=None)
    assert chosen.rules_cache_dir == Path("/var/cache/nw/rules")
    assert load_settings({"NEWSWATCH_CACHE_DIR": " "}, env_file=None).rules_cache_dir is None
