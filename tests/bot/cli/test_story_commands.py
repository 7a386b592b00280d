"""``newswatch stories group``: the bot's grouping on a JSON Lines file, offline."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli.story_commands import cmd_group
from core.errors import ConfigError

LABELLED = Path(__file__).resolve().parents[2] / "data" / "stories" / "labelled.jsonl"


def test_group_prints_one_story_per_article() -> None:
    out = io.StringIO()
    assert cmd_group(LABELLED, out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == len(LABELLED.read_text(encoding="utf-8").splitlines())
    story = {r["id"]: r["story"] for r in rows}
    assert set(rows[0]) == {"id", "story"}
    assert story["seed-000"] == story["seed-001"] != story["seed-004"]


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "a.jsonl"
    bad.write_text('{"id": "1", "title": "x", "published": "2025-07-11"}\n{"id": 2}\n')
    with pytest.raises(ConfigError, match="line 2"):
        cmd_group(bad, io.StringIO())
