from __future__ import annotations

import io
import socket
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.config.settings import Settings
from bot.ops.doctor import Status, check_configuration, check_database, check_rules, run_doctor
from core.models import FeedConfig
from storage.sql import SqlStorage
from tests.bot.ops.conftest import BAD_TOKEN, GOOD_TOKEN
from tests.fakes.telegram_api import FakeTelegramServer

FEEDS_YAML = """\
feeds:
  - url: https://e.vnexpress.net/rss/news.rss
  - url: https://tuoitrenews.vn/rss
    enabled: false
"""
RULE_YAML = """\
rules:
  - id: east-sea
    name: East Sea
    query: '"East Sea" OR "South China Sea"'
"""


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text(FEEDS_YAML)
    (config / "rules" / "sea.yaml").write_text(RULE_YAML)
    return config


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "config_dir": _config(tmp_path),
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}",
        "health_addr": "127.0.0.1:8080",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def test_a_healthy_setup_passes_and_says_so(
    tmp_path: Path, telegram: FakeTelegramServer
) -> None:
    settings = _settings(
        tmp_path, telegram_bot_token=GOOD_TOKEN, telegram_api_base_url=telegram.base_url
    )
    out = io.StringIO()
    assert await run_doctor(settings, out) == 0
    text = out.getvalue()
    assert "feeds.yaml: 1 of 2 feeds enabled" in text
    assert "no database yet, created at first start" in text
    assert "token accepted, bot is @newswatch_ops_bot" in text
    assert text.rstrip().endswith("all checks passed (0 warning(s)).")
    assert not (tmp_path / "newswatch.db").exists()  # doctor is read-only
    assert GOOD_TOKEN not in text


async def test_every_problem_is_reported_with_a_fix(
    tmp_path: Path, telegram: FakeTelegramServer
) -> None:
    settings = _settings(
        tmp_path,
        telegram_bot_token=BAD_TOKEN,
        telegram_api_base_url=telegram.base_url,
        database_url=f"postgresql+asyncpg://nw:hunter2secret@127.0.0.1:{_closed_port()}/nw",
    )
    (settings.rules_dir / "broken.yaml").write_text("rules:\n  - id: x\n    query: '(East'\n")
    out = io.StringIO()
    assert await run_doctor(settings, out) == 1
    text = out.getvalue()
    lines = text.splitlines()
    db_line = next(i for i, line in enumerate(lines) if line.lstrip().startswith("FAIL  database"))
    assert "connection refused" in lines[db_line].lower()
    assert (
        "fix: start the database server, or fix host and port in DATABASE_URL" in lines[db_line + 1]
    )
    assert "FAIL  telegram" in text
    assert "the token was rejected" in text
    assert "fix: copy the token again from @BotFather" in text
    assert "broken.yaml" in text
    assert "problem(s)" in lines[-1]
    assert BAD_TOKEN not in text
    assert "hunter2secret" not in text


async def test_without_a_token_telegram_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_doctor(_settings(tmp_path), out) == 0
    assert "warn  telegram" in out.getvalue()
    assert "alerts are printed to the console" in out.getvalue()


def test_missing_config_folder(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path / "nowhere")
    [finding] = check_configuration(settings)
    assert finding.status is Status.FAIL
    assert "does not exist" in finding.message
    assert finding.fix is not None
    assert "NEWSWATCH_CONFIG_DIR" in finding.fix


def test_bad_feeds_file_is_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.feeds_file.write_text("feeds:\n  - url: ftp://nope\n")
    findings = check_configuration(settings)
    assert findings[0].status is Status.FAIL
    assert "feeds[1]: url must be an http:// or https:// address" in findings[0].message


def test_public_health_address_outside_a_container_is_a_warning(tmp_path: Path) -> None:
    settings = _settings(tmp_path, health_addr="0.0.0.0:8080")
    findings = check_configuration(settings, in_container=False)
    assert [f.status for f in findings] == [Status.OK, Status.WARN]
    findings = check_configuration(settings, in_container=True)
    assert [f.status for f in findings] == [Status.OK, Status.OK]


def test_missing_rules_folder(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path)
    [finding] = check_rules(settings)
    assert finding.status is Status.FAIL
    assert finding.message == f"rules folder {tmp_path / 'rules'} does not exist"


def test_empty_rules_folder_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    [finding] = check_rules(Settings(config_dir=tmp_path))
    assert finding.status is Status.WARN


async def test_existing_sqlite_database_reports_its_schema_revision(tmp_path: Path) -> None:
    db = tmp_path / "newswatch.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0001_initial')")
    [finding] = await check_database(_settings(tmp_path))
    assert finding.status is Status.OK
    assert finding.message.endswith("reachable, schema revision 0001_initial")


async def test_sqlite_in_a_missing_folder_fails(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'newswatch.db'}"
    [finding] = await check_database(_settings(tmp_path, database_url=url))
    assert finding.status is Status.FAIL
    assert "missing or not writable" in finding.message


async def test_failing_feeds_are_a_problem_not_all_checks_passed(tmp_path: Path) -> None:
    # Issue #16: doctor said "all checks passed" while feeds were failing.
    url = f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}"
    storage = SqlStorage(url)
    await storage.open()
    now = datetime(2025, 7, 11, tzinfo=UTC)
    await storage.sync_feeds(
        [FeedConfig(url="https://ok.example/rss"), FeedConfig(url="https://bad.example/rss")],
        now,
    )
    bad = await storage.get_feed("https://bad.example/rss")
    assert bad is not None
    await storage.save_feed_state(replace(bad, consecutive_errors=3, last_error="HTTP 503"))
    await storage.close()
    findings = await check_database(_settings(tmp_path, database_url=url))
    assert [f.status for f in findings] == [Status.OK, Status.FAIL]
    assert findings[1].area == "feeds"
    assert findings[1].message == "https://bad.example/rss: 3 failed polls in a row: HTTP 503"
