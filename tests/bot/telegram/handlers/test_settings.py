"""/settings as a user: every button, the time-zone command and its bad input, groups, the
Vietnamese catalogue, and the settings at work in /status, /recent and alerts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.outbox import OutboxSender
from bot.delivery.telegram_sink import TelegramSink
from core.models import ChatSettings, SnippetLength
from storage.sql import SqlStorage
from tests.bot.telegram.harness import ADMIN, GROUP, OTHER, USER, RunningBot, running_bot

DEFAULT_PAGE = (
    "⚙️ Settings of this chat\n"
    "🕒 Time zone: Asia/Ho_Chi_Minh\n"
    "🔗 Link previews in alerts: off\n"
    "✂️ Snippet in alerts: normal\n"
    "🌐 Language of the bot's messages: English\n"
    "🗞 Digest days: every day\n"
    "\n"
    "Another time zone: /settings tz Area/City (e.g. Europe/Paris)."
)


async def stored(rb: RunningBot, chat_id: int = USER) -> ChatSettings:
    chosen: dict[int, ChatSettings] = await rb.storage.chat_settings()
    return chosen.get(chat_id, ChatSettings())


async def test_settings_screen_and_every_button(rb: RunningBot) -> None:
    page = await rb.ask("/settings")
    assert page.text == DEFAULT_PAGE
    assert all(len(b["callback_data"].encode()) <= 64 for b in page.buttons)
    assert "✓ Ho Chi Minh" in [b["text"] for b in page.buttons]

    assert await rb.press(page, "Singapore") == "Saved"
    assert "🕒 Time zone: Asia/Singapore" in page.text
    assert await rb.press(page, "Turn link previews on") == "Saved"
    assert "Link previews in alerts: on" in page.text
    assert await rb.press(page, "one sentence") == "Saved"
    assert await rb.press(page, "Monday to Friday") == "Saved"
    assert await stored(rb) == ChatSettings(
        timezone="Asia/Singapore",
        link_preview=True,
        snippet=SnippetLength.SHORT,
        digest_days=(0, 1, 2, 3, 4),
    )
    assert rb.services.chat_prefs.get(USER) == await stored(rb)
    assert await rb.press(page, "Defaults") == "Back to the defaults"
    assert page.text == DEFAULT_PAGE
    assert await stored(rb) == ChatSettings()


async def test_vietnamese(rb: RunningBot) -> None:
    page = await rb.ask("/settings")
    assert await rb.press(page, "Tiếng Việt") == "Đã lưu"
    assert page.text.startswith("⚙️ Cài đặt của cuộc trò chuyện này\n🕒 Múi giờ: Asia/Ho_Chi_Minh")
    assert "Chưa dịch" not in page.text  # nothing left to say is still English
    assert "✓ Tiếng Việt" in [b["text"] for b in page.buttons]
    assert (await rb.ask("/start")).text.startswith("👋 Tôi theo dõi các nguồn tin")
    assert (await rb.ask("/frobnicate")).text == (
        "❌ Tôi không biết lệnh /frobnicate. /help liệt kê những gì tôi làm được."
    )
    await rb.ask("/subscribe csp")
    status = await rb.ask("/status")
    assert status.text.startswith("👀 Đang theo dõi 0 nguồn tin với 7 quy tắc.\n")
    assert (await rb.ask("/start", OTHER)).text.startswith("👋 I watch news feeds")  # per chat
    assert await rb.press(page, "English") == "Saved"
    assert (await stored(rb)).language is None


async def test_time_zone_command_and_bad_input(rb: RunningBot) -> None:
    page = await rb.ask("/settings tz Europe/Paris")
    assert "🕒 Time zone: Europe/Paris" in page.text
    assert (await stored(rb)).timezone == "Europe/Paris"
    bad = await rb.ask("/settings tz Mars/Olympus")
    assert bad.text.startswith("❌ Unknown time zone “Mars/Olympus”")
    assert (await rb.ask("/settings frob")).text == ("❌ /settings takes nothing, or tz Area/City.")
    assert (await rb.ask("/settings tz")).text.startswith("❌ /settings takes nothing")
    stale = rb.tg.user_presses("st:tz:Mars/Olympus", page, USER)
    await rb.tg.wait_for(
        lambda: any(a["callback_query_id"] == stale for a in rb.tg.callback_answers),
        what="answer",
    )
    assert rb.tg.callback_answers[-1]["text"] == (
        "This button is no longer supported; send /settings again."
    )
    assert (await stored(rb)).timezone == "Europe/Paris"


async def test_times_follow_the_chats_time_zone(rb: RunningBot) -> None:
    await rb.ask("/subscribe csp")
    await rb.ingest("A story", "csp")
    assert "11 Jul 17:00" in (await rb.ask("/recent")).text  # NEWSWATCH_TIMEZONE, UTC+7
    await rb.ask("/settings tz Europe/London")
    assert "11 Jul 11:00" in (await rb.ask("/recent")).text  # BST, UTC+1
    await rb.ask("/mute 1h")
    assert "🔕 Muted until 11 Jul 14:00 BST." in (await rb.ask("/status")).text
    assert "🔕 Muted until 11 Jul 2025 14:00 BST (/unmute)" in (await rb.ask("/list")).text


async def test_in_a_group_only_admins_change_settings(rb: RunningBot) -> None:
    rb.tg.add_chat(GROUP, "group", title="Analysts", admins=[ADMIN + 1])
    page = await rb.ask("/settings", GROUP, user_id=OTHER, chat_type="group")
    assert page.text == DEFAULT_PAGE  # anyone may look
    refused = await rb.press(page, "Singapore", user_id=OTHER)
    assert refused == "Only this group's administrators can change its settings."
    bad = await rb.ask("/settings tz UTC", GROUP, user_id=OTHER, chat_type="group")
    assert bad.text == "❌ Only this group's administrators can change its settings."
    assert await rb.press(page, "Singapore", user_id=ADMIN + 1) == "Saved"
    assert (await stored(rb, GROUP)).timezone == "Asia/Singapore"


@pytest.fixture
async def srb(tmp_path: Path) -> AsyncIterator[RunningBot]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}")
    async with running_bot(storage=storage) as running:
        yield running


async def test_alerts_follow_the_chats_settings(srb: RunningBot) -> None:
    await srb.ask("/subscribe csp")
    await srb.ask("/settings tz Europe/London")
    page = await srb.ask("/settings")
    await srb.press(page, "Turn link previews on")
    await srb.press(page, "none")  # no snippet
    await srb.ingest("A story", "csp")
    sink = TelegramSink(
        srb.application.bot, tz=srb.services.settings.tz, prefs=srb.services.chat_prefs
    )
    before = len(srb.tg.messages(USER))
    await OutboxSender(srb.services, sink).drain_once()
    [alert] = (await srb.tg.wait_for_messages(before + 1, chat_id=USER))[before:]
    assert "11 Jul 2025 11:00 BST" in alert.text
    assert "discussed at length" not in alert.text  # the snippet is off
    [call] = [c for c in srb.tg.calls_of("sendMessage") if "A story" in str(c.params["text"])]
    assert json.loads(str(call.params["link_preview_options"])) == {"is_disabled": False}
    # a chat on the defaults keeps previews off
    default = [c for c in srb.tg.calls_of("sendMessage") if "Settings of" in str(c.params["text"])]
    assert json.loads(str(default[0].params["link_preview_options"])) == {"is_disabled": True}


async def test_mute_and_digest_replies_use_the_chats_time_zone(rb: RunningBot) -> None:
    await rb.ask("/settings tz Europe/London")
    await rb.ask("/subscribe csp")
    assert (await rb.ask("/mute 1h")).text.startswith(
        "🔕 Muted this chat until 11 Jul 2025 14:00 BST"
    )
    assert "(Europe/London)" in (await rb.ask("/digest csp daily 08:00")).text
