"""ReplySender: command replies through the real sink and python-telegram-bot against the fake
Bot API, with the same outcome policy as alerts (real SqlStorage on SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.pacing import PaceLimits, SendPacer
from bot.delivery.replies import ReplySender, html_to_plain
from bot.delivery.sink import SendStatus
from bot.delivery.telegram_sink import TelegramSink
from bot.services import ChatPrefs
from bot.telegram.rate_limiter import paced_bot
from core.models import Chat, ChatSettings, ChatType, Language
from storage import SqlStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits

NO_PACING = PaceLimits(global_count=10_000, private_window_s=0.0, group_count=10_000)


@dataclass
class Env:
    tg: FakeTelegramServer
    storage: SqlStorage
    replies: ReplySender
    slept: list[float]
    prefs: ChatPrefs


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    try:
        async with (
            FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as tg,
            paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=SendPacer(NO_PACING)) as bot,
        ):
            tg.add_chat(42)
            tg.add_chat(-100, "group", title="Desk")
            await storage.upsert_chat(Chat(id=42, type=ChatType.PRIVATE))
            await storage.upsert_chat(Chat(id=-100, type=ChatType.GROUP))
            prefs = ChatPrefs()
            replies = ReplySender(TelegramSink(bot), storage, sleep=sleep, prefs=prefs)
            yield Env(tg, storage, replies, slept, prefs)
    finally:
        await storage.close()


def test_the_plain_fallback_drops_tags_and_decodes_entities() -> None:
    assert html_to_plain('✅ <b>CSP</b> &amp; <a href="https://x.example">x</a>') == "✅ CSP & x"


async def test_a_reply_is_html_without_preview_and_quotes_in_groups(env: Env) -> None:
    outcome = await env.replies.send(-100, "<b>Done</b>", reply_to=7)
    assert outcome.status is SendStatus.SENT
    [call] = env.tg.calls_of("sendMessage")
    assert call.params["parse_mode"] == "HTML"
    assert "reply_parameters" in call.params
    [sent] = env.tg.messages(-100)
    assert sent.text == "Done"


async def test_a_short_429_is_waited_out_once(env: Env) -> None:
    env.tg.inject_error("sendMessage", 429, "Too Many Requests: retry after 3", {"retry_after": 3})
    outcome = await env.replies.send(42, "hello")
    assert outcome.status is SendStatus.SENT
    assert env.slept == [3.0]
    assert [c.status for c in env.tg.calls_of("sendMessage")] == [429, 200]


async def test_a_long_429_drops_the_reply_instead_of_answering_late(env: Env) -> None:
    env.tg.inject_error(
        "sendMessage", 429, "Too Many Requests: retry after 300", {"retry_after": 300}
    )
    outcome = await env.replies.send(42, "hello")
    assert outcome.status is SendStatus.RETRY
    assert env.slept == []
    assert env.tg.messages(42) == []


async def test_a_blocked_chat_is_paused_like_for_alerts(env: Env) -> None:
    env.tg.block(42)
    outcome = await env.replies.send(42, "hello")
    assert outcome.status is SendStatus.CHAT_GONE
    chat = await env.storage.get_chat(42)
    assert chat is not None
    assert not chat.active


async def test_a_migrated_group_is_followed_and_answered_there(env: Env) -> None:
    await env.storage.subscribe(-100, "csp")
    vietnamese = ChatSettings(language=Language.VI)
    await env.storage.save_chat_settings(-100, vietnamese, datetime.now(UTC))
    env.prefs.put(-100, vietnamese)
    env.tg.migrate(-100, -1000100)
    outcome = await env.replies.send(-100, "hello", reply_to=5)
    assert outcome.status is SendStatus.SENT
    [sent] = env.tg.messages(-1000100)
    assert sent.text == "hello"
    assert await env.storage.subscriptions(-1000100) == ["csp"]
    # its /settings went with it, in storage and in the copy the sink and handlers read
    assert env.prefs.get(-1000100) == vietnamese
    assert await env.storage.chat_settings() == {-1000100: vietnamese}
