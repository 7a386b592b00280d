"""/export and /feeds export: files sent through TelegramSink.send_document into the fake Bot
API (which keeps the uploaded bytes). Over SQLite: the export is storage's own writer."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config.opml import feeds_from_opml, feeds_to_opml
from core.models import FeedConfig
from storage.sql import SqlStorage
from tests.bot.telegram.harness import ADMIN, GROUP, USER, RunningBot, running_bot
from tests.fakes.telegram_api import SentMessage


@pytest.fixture
async def srb(tmp_path: Path) -> AsyncIterator[RunningBot]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}")
    async with running_bot(storage=storage) as running:
        yield running


async def test_export_sends_this_chats_matches_as_csv_or_jsonl(srb: RunningBot) -> None:
    await srb.ask("/subscribe csp")
    await srb.ingest("Ours", "csp")
    await srb.ingest("Not ours", "unclos", minutes=1)
    sent = await srb.ask("/export")
    assert sent.document is not None
    assert sent.document.filename == "newswatch-matches-20250711.csv"
    assert sent.text == "📤 1 match of this chat's rules from the last 30 days (CSV)."
    rows = list(csv.DictReader(io.StringIO(sent.document.data.decode())))
    assert [(r["rule_id"], r["title"]) for r in rows] == [("csp", "Ours")]
    lines = (await srb.ask("/export jsonl 7")).document
    assert lines is not None
    assert lines.filename.endswith(".jsonl")
    assert [json.loads(x)["title"] for x in lines.data.decode().splitlines()] == ["Ours"]


async def test_export_bad_input(srb: RunningBot) -> None:
    assert "no subscriptions" in (await srb.ask("/export")).text
    await srb.ask("/subscribe csp")
    assert "No matches in the last 30 days" in (await srb.ask("/export")).text
    bad = await srb.ask("/export xml")
    assert bad.text.startswith("❌ “xml” is neither a format (csv, jsonl) nor a number of days")
    assert "Usage: /export [csv|jsonl] [DAYS]" in bad.text
    assert "neither" in (await srb.ask("/export 0")).text


async def test_export_in_a_group_quotes_the_command(srb: RunningBot) -> None:
    srb.tg.add_chat(GROUP, "group", title="Analysts")
    await srb.storage.subscribe(GROUP, "csp")
    await srb.ingest("Group story", "csp")
    sent = await srb.ask("/export", GROUP, user_id=USER, chat_type="group")
    assert sent.document is not None


async def test_admins_export_feeds_as_opml(srb: RunningBot) -> None:
    assert "for the bot's administrators" in (await srb.ask("/feeds export")).text
    assert "nothing to export" in (await srb.ask("/feeds export", ADMIN)).text
    await srb.add_feed("https://a.example/rss", name="A & B")
    await srb.add_feed("https://b.example/atom")
    sent = await srb.ask("/feeds export", ADMIN)
    assert sent.document is not None
    assert sent.document.filename == "newswatch-feeds.opml"
    assert [(f.url, f.name) for f in feeds_from_opml(sent.document.data)] == [
        ("https://a.example/rss", "A & B"),
        ("https://b.example/atom", "https://b.example/atom"),
    ]
    assert "caption /feeds import" in (await srb.ask("/feeds import", ADMIN)).text
    assert "Give nothing, export or import" in (await srb.ask("/feeds frob", ADMIN)).text
    assert "Feeds (2)" in (await srb.ask("/feeds", ADMIN)).text


async def send_file(rb: RunningBot, chat_id: int, data: bytes, caption: str) -> SentMessage:
    before = len(rb.tg.messages(chat_id))
    rb.tg.user_sends_document(chat_id, "feeds.opml", data, caption=caption, user_id=chat_id)
    return (await rb.tg.wait_for_messages(before + 1, chat_id=chat_id))[before]


async def test_admins_import_feeds_from_an_opml_file(srb: RunningBot) -> None:
    await srb.add_feed("https://a.example/rss")
    opml = feeds_to_opml(
        [FeedConfig(url="https://a.example/rss"), FeedConfig(url="https://b.example/rss")]
    ).encode()
    done = await send_file(srb, ADMIN, opml, "/feeds import")
    assert done.text == (
        "📥 OPML: 2 feeds listed, 1 added.\n"
        "• https://a.example/rss: already configured\n"
        "• https://b.example/rss: Added https://b.example/rss; first poll in a moment."
    )
    assert srb.admin_actions.calls == [("add_feed", "https://b.example/rss")]
    bad = await send_file(srb, ADMIN, b"<html>not opml</html>", "/feeds import")
    assert bad.text == "❌ Not imported: the file is XML but not OPML (its root is <html>)."
    refused = await send_file(srb, USER, opml, "/feeds import")
    assert refused.text == "❌ That command is for the bot's administrators."
    assert len(srb.admin_actions.calls) == 1
