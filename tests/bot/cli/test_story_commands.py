"""``newswatch stories group``: the bot's grouping on a JSON Lines file, offline."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.story_commands import cmd_group, cmd_show, cmd_split
from bot.runtime.story_grouping import StoryGrouper
from core.errors import ConfigError
from rules import compile_ruleset
from storage import SqlStorage
from tests.support.storage_helpers import match
from tests.support.story_helpers import seed_article

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


async def _stored_story(tmp_path: Path) -> tuple[SqlStorage, list[int]]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    items = [(seed_article(n), [match("csp")]) for n in ("000", "001")]
    now = items[-1][0].published_at
    assert now is not None
    grouper = StoryGrouper()
    grouped = await grouper.group(items, compile_ruleset({}), now)
    results = await storage.ingest_many(items, now, stories=grouped.placements)
    return storage, [r.article_id for r in results]


async def test_show_explains_why_each_article_is_in_the_story(tmp_path: Path) -> None:
    storage, (first, second) = await _stored_story(tmp_path)
    try:
        out = io.StringIO()
        assert await cmd_show(storage, second, out, article=True) == 0
        text = out.getvalue()
        assert text.startswith("story 1: Vietnamese Deputy PM, FM meets with US")
        assert f"- article {first} · VNA · 2025-07-11 08:00 UTC" in text
        assert f"- article {second} · VietNamNet" in text
        assert "why: no open story matched" in text  # the founder
        assert "(compared with guid:000_" in text  # the second report, with its score
        assert "signals: {" in text
        missing = io.StringIO()
        assert await cmd_show(storage, 99, missing) == 1
        assert "no story 99" in missing.getvalue()
    finally:
        await storage.close()


async def test_split_moves_the_article_out_for_good(tmp_path: Path) -> None:
    storage, (_first, second) = await _stored_story(tmp_path)
    try:
        out = io.StringIO()
        now = datetime(2025, 7, 12, tzinfo=UTC)
        assert await cmd_split(storage, second, now, out) == 0
        assert out.getvalue() == f"article {second} is now alone in story 2, split from 1\n"
        shown = io.StringIO()
        assert await cmd_show(storage, 2, shown) == 0
        assert "split from story 1 (kept apart)" in shown.getvalue()
        assert "pinned" in shown.getvalue()
        assert "why: split by a person" in shown.getvalue()
        again = io.StringIO()
        assert await cmd_split(storage, second, now, again) == 1
        assert "already alone" in again.getvalue()
    finally:
        await storage.close()
