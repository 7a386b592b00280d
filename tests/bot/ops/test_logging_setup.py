from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from bot.config.settings import Settings
from bot.ops.logging_setup import REDACTED, Redactor, secrets_from_settings, setup_logging

TOKEN = "123456789:AAHsecretTokenValue-abcdefghijklmnopq"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging set up into a buffer; restores the root logger and excepthook afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level, saved_hook = root.handlers[:], root.level, sys.excepthook
    buf = io.StringIO()
    yield buf
    for h in root.handlers[:]:
        if h not in saved_handlers:
            root.removeHandler(h)
    root.setLevel(saved_level)
    sys.excepthook = saved_hook
    logging.captureWarnings(False)


def _lines(buf: io.StringIO) -> list[str]:
    return buf.getvalue().splitlines()


def test_kv_lines_carry_feed_rule_and_chat_as_fields(stream: io.StringIO) -> None:
    setup_logging("INFO", "kv", [TOKEN], stream=stream)
    logging.getLogger("bot.runtime.pipeline").info(
        "alert queued for %d chats",
        2,
        extra={"rule": "east-sea", "chat": -100123, "feed": "https://e.vnexpress.net/rss"},
    )
    logging.getLogger("bot.runtime.pipeline").debug("not shown at INFO")
    [line] = _lines(stream)
    assert line.startswith("ts=")
    fields = line.split(" ", 1)[1]
    assert fields == (
        'level=info logger=bot.runtime.pipeline msg="alert queued for 2 chats" '
        "feed=https://e.vnexpress.net/rss rule=east-sea chat=-100123"
    )


def test_json_lines_are_one_object_each(stream: io.StringIO) -> None:
    setup_logging("DEBUG", "json", [TOKEN], stream=stream)
    logging.getLogger("watchers.fetch").warning(
        'feed "failed"\nsecond line', extra={"feed": "https://x.example/rss", "status": 503}
    )
    [line] = _lines(stream)
    record = json.loads(line)
    assert record["level"] == "warning"
    assert record["logger"] == "watchers.fetch"
    assert record["msg"] == 'feed "failed"\nsecond line'
    assert record["feed"] == "https://x.example/rss"
    assert record["status"] == 503
    assert record["ts"].endswith("Z")


def test_kv_keeps_a_multiline_exception_on_one_line(stream: io.StringIO) -> None:
    setup_logging("INFO", "kv", [], stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot").exception("failed", extra={"feed": "f"})
    [line] = _lines(stream)
    assert 'exc="Traceback (most recent call last):\\n' in line
    assert "ValueError: boom" in line


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_the_token_never_reaches_a_log_line(stream: io.StringIO, fmt: str) -> None:
    setup_logging("DEBUG", fmt, [TOKEN], stream=stream)
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    logging.getLogger("bot").info("token is %s", TOKEN)
    logging.getLogger("bot").info("calling", extra={"url": url})
    # httpx logs each request with its URL; PTB and aiohttp quote URLs in errors.
    logging.getLogger("httpx").info('HTTP Request: POST %s "HTTP/1.1 200 OK"', url)
    logging.getLogger("telegram.ext.Updater").error("Network error for %s", url)
    logging.getLogger("aiohttp.client").warning("connect failed %r", {"token": TOKEN})
    try:
        raise ConnectionError(f"Cannot connect to {url}")
    except ConnectionError:
        logging.getLogger("telegram.ext.Application").exception("Error while polling")
    logging.getLogger("bot").info("stack", stack_info=True, extra={"t": TOKEN})
    out = stream.getvalue()
    assert len(_lines(stream)) == 7
    assert TOKEN not in out
    assert TOKEN.split(":")[1] not in out
    assert f"bot{REDACTED}/sendMessage" in out


def test_an_unknown_token_in_a_bot_api_url_is_redacted_too(stream: io.StringIO) -> None:
    setup_logging("INFO", "kv", [], stream=stream)
    other = "555555:AAOtherSecretNotConfigured_1234567890"
    logging.getLogger("x").warning("GET https://api.telegram.org/bot%s/getMe", other)
    logging.getLogger("x").warning("quoted https://h/bot555555%3AAAOtherSecret/getMe")
    logging.getLogger("x").warning("bare %s", other)
    out = stream.getvalue()
    assert "AAOtherSecret" not in out
    assert out.count(REDACTED) == 3


def test_uncaught_exceptions_go_through_the_redacting_log(stream: io.StringIO) -> None:
    setup_logging("INFO", "kv", [TOKEN], stream=stream)
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError as e:
        sys.excepthook(type(e), e, e.__traceback__)
    out = stream.getvalue()
    assert "uncaught exception" in out
    assert "RuntimeError: bad token <redacted>" in out
    assert TOKEN not in out


def test_setup_again_replaces_its_own_handler(stream: io.StringIO) -> None:
    setup_logging("INFO", "kv", [], stream=stream)
    setup_logging("INFO", "json", [], stream=stream)
    logging.getLogger("bot").info("once")
    assert len(_lines(stream)) == 1
    assert json.loads(_lines(stream)[0])["msg"] == "once"


def test_chatty_libraries_are_quiet_unless_debugging(stream: io.StringIO) -> None:
    setup_logging("INFO", "kv", [], stream=stream)
    logging.getLogger("httpx").info("HTTP Request: POST ...")
    assert stream.getvalue() == ""
    setup_logging("DEBUG", "kv", [], stream=stream)
    logging.getLogger("httpx").info("HTTP Request: POST ...")
    assert "HTTP Request" in stream.getvalue()


def test_caplog_still_sees_records(stream: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
    setup_logging("INFO", "kv", [TOKEN], stream=stream)
    caplog.set_level(logging.INFO)
    logging.getLogger("bot").info("sent", extra={"chat": 42})
    assert [r.chat for r in caplog.records] == [42]  # type: ignore[attr-defined]


def test_bad_format_is_refused() -> None:
    with pytest.raises(ValueError, match="kv' or 'json"):
        setup_logging("INFO", "xml", [])


def test_redactor_ignores_tiny_secrets_and_prefers_the_longest() -> None:
    r = Redactor(["ab", "secretvalue", "secretvalue-longer"])
    assert r("ab secretvalue-longer secretvalue") == f"ab {REDACTED} {REDACTED}"


def test_secrets_from_settings_include_token_and_database_password() -> None:
    s = Settings(
        telegram_bot_token=TOKEN,
        database_url="postgresql+asyncpg://newswatch:p%40ss-w0rd@db:5432/newswatch",
    )
    assert set(secrets_from_settings(s)) == {TOKEN, "p%40ss-w0rd", "p@ss-w0rd"}
    assert secrets_from_settings(Settings()) == []
