"""The ``db upgrade``, ``search`` and ``export`` commands against a real database."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import EXIT_USAGE, main
from bot.cli.storage_commands import cmd_db_upgrade, cmd_export, cmd_search, parse_when
from core.errors import ConfigError
from storage import SqlStorage
from storage.migrate import head_revision
from tests.support.storage_helpers import T0, make_article, match


async def _seed(url: str) -> None:
    storage = SqlStorage(url)
    await storage.open()
    try:
        await storage.ingest(
            make_article(1, title="Fishing fleets return"), [match("a")], T0.replace(day=10)
        )
        await storage.ingest(make_article(2, title="Port news"), [match("b")], T0.replace(day=11))
    finally:
        await storage.close()


async def test_db_upgrade_reports_revision(database_url: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert await cmd_db_upgrade(database_url, out, err) == 0
    head = head_revision()
    assert out.getvalue().startswith(f"database is at revision {head} (latest: {head})")
    assert await cmd_db_upgrade(database_url, out, err) == 0


async def test_db_upgrade_error_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    out, err = io.StringIO(), io.StringIO()
    url = f"sqlite+aiosqlite:///{tmp_path / 'file' / 'x.db'}"
    assert await cmd_db_upgrade(url, out, err) == 1
    assert err.getvalue().startswith("newswatch db upgrade: ")
    assert err.getvalue().count("\n") == 1


async def test_search_prints_hits(database_url: str) -> None:
    await _seed(database_url)
    out = io.StringIO()
    assert await cmd_search(database_url, ["fishing"], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "1 story matches"
    assert lines[1] == "Fishing fleets return"
    assert lines[2] == ("  2025-07-11 12:00 UTC · Example News · https://news.example/story/1")
    out = io.StringIO()
    assert await cmd_search(database_url, ["nothing-like-this"], out) == 0
    assert out.getvalue() == "no stored article matches: nothing-like-this\n"
    err = io.StringIO()
    assert await cmd_search(database_url, ['"fishing fleets" AND (port OR'], out, err=err) == 2
    assert err.getvalue() == (
        "newswatch search: the query ends where a word was expected (column 30)\n"
        '  "fishing fleets" AND (port OR\n'
        "                               ^\n"
        "  hint: finish the expression or remove the trailing operator\n"
    )
    assert await cmd_search(database_url, [], out, err=io.StringIO()) == 2


async def test_export_by_dates_and_rules(database_url: str) -> None:
    await _seed(database_url)
    out, err = io.StringIO(), io.StringIO()
    code = await cmd_export(database_url, out, "jsonl", "2025-07-11", "2025-07-11", ["b"], err)
    assert code == 0
    assert [json.loads(x)["title"] for x in out.getvalue().splitlines()] == ["Port news"]
    assert err.getvalue() == "exported 1 match\n"  # not "1 matches"
    out = io.StringIO()
    assert await cmd_export(database_url, out, "csv", end="2025-07-10", err=err) == 0
    assert out.getvalue().splitlines()[0].startswith("matched_at,rule_id,article_id,title")
    assert len(out.getvalue().splitlines()) == 2


async def test_export_rejects_bad_options(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    err = io.StringIO()
    assert await cmd_export(url, io.StringIO(), "xml", err=err) == 2
    assert "--format must be csv or jsonl" in err.getvalue()
    assert await cmd_export(url, io.StringIO(), "csv", start="yesterday", err=err) == 2
    assert "--from: 'yesterday' is not a date" in err.getvalue()


def test_parse_when() -> None:
    assert parse_when("2025-07-11", "--from") == datetime(2025, 7, 11, tzinfo=UTC)
    assert parse_when("2025-07-11", "--to", end_of_day=True) == datetime(2025, 7, 12, tzinfo=UTC)
    assert parse_when("2025-07-11T08:00+07:00", "--from") == datetime(2025, 7, 11, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="--to"):
        parse_when("11/07/2025", "--to")


async def test_export_of_an_unknown_rule_is_an_error(database_url: str) -> None:
    await _seed(database_url)
    out, err = io.StringIO(), io.StringIO()
    code = await cmd_export(database_url, out, "csv", rule_ids=["bb"], err=err)
    assert code == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith("newswatch export: no rule called bb in the rule files")
    # a rule in the files that has matched nothing yet is an empty export, not an error
    err = io.StringIO()
    code = await cmd_export(
        database_url, out, "csv", rule_ids=["new"], err=err, known_rule_ids={"new"}
    )
    assert code == 0
    assert err.getvalue() == "exported 0 matches\n"


def test_an_env_file_that_does_not_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.env"
    assert main(["--env-file", str(missing), "doctor"]) == EXIT_USAGE
    assert capsys.readouterr().err == f"newswatch: --env-file {missing}: no such file\n"
