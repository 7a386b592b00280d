"""The administrators' feed commands, their buttons, /export and /feeds export|import in a
Vietnamese chat, through the real PTB against the fake Bot API, with the real
``AppAdminActions`` editing a real feeds file (and fetching from a feed server on 127.0.0.1)
over SQLite. Each flow runs once in an English chat and once in a Vietnamese one, in two bots
alike: every reply and toast differs, and no English catalogue sentence is left."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config.feeds_file import load_feeds_file
from bot.config.opml import feeds_to_opml
from bot.runtime.admin_actions import AppAdminActions
from bot.runtime.feeds_reloader import FeedsReloader
from bot.services import Services
from bot.telegram.handlers.admin import AdminActions
from core.models import FeedConfig, Language
from storage.sql import SqlStorage
from tests.bot.telegram.handlers.vietnamese import assert_translated, speak_vietnamese
from tests.bot.telegram.harness import ADMIN, OTHER, USER, RunningBot, running_bot
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import SentMessage
from tests.support.seeds import load_seeds, rss2
from watchers.fetch import FeedFetcher

FEEDS = """\
# the desk's feeds
feeds:
  - url: https://a.example/rss
    name: A
  - https://b.example/rss
  - https://c.example/rss
"""
FETCHED = datetime(2025, 7, 11, 11, 0, tzinfo=UTC)


@asynccontextmanager
async def admin_bot(
    tmp_path: Path, server: FeedServer, *, vietnamese: bool, allow_private: bool = False
) -> AsyncIterator[RunningBot]:
    """A bot whose admin commands edit ``config/feeds.yaml`` (``FEEDS``) through the real
    ``AppAdminActions``; ``allow_private`` lets it add the feeds of ``server`` (127.0.0.1)."""
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text(FEEDS, encoding="utf-8")
    async with FeedFetcher(allow_private=allow_private) as fetcher:

        def actions(services: Services) -> AdminActions:
            async def rules_reloaded() -> bool:
                return True

            async def feeds_file_error(message: object) -> None:  # any notice is a failure
                raise AssertionError(message)

            checked = dataclasses.replace(
                services,
                settings=dataclasses.replace(
                    services.settings, allow_private_feed_addresses=allow_private
                ),
            )
            return AppAdminActions(
                checked,
                fetcher=fetcher,
                reload_rules=rules_reloaded,
                reload_feeds=FeedsReloader(services, feeds_file_error).reload_now,
            )

        storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}")
        async with running_bot(storage=storage, config_dir=config, admin_actions=actions) as rb:
            if vietnamese:
                speak_vietnamese(rb, USER, ADMIN)
            yield rb


async def sync_the_feeds_file(rb: RunningBot) -> None:
    """Storage lists the feeds file's feeds: A healthy after its first poll, B failing, C
    disabled by the watcher."""
    settings = rb.services.settings
    feeds = load_feeds_file(settings.feeds_file, settings.poll_interval_s).feeds
    await rb.storage.sync_feeds(feeds, rb.clock.now())
    states: dict[str, dict[str, Any]] = {
        "https://a.example/rss": {
            "first_poll_done": True,
            "items_seen": 23,
            "last_success_at": FETCHED,
            "last_new_item_at": FETCHED,
        },
        "https://b.example/rss": {"consecutive_errors": 3, "last_error": "HTTP 503"},
        "https://c.example/rss": {"disabled_reason": "410 Gone"},
    }
    for url, state in states.items():
        stored = await rb.storage.get_feed(url)
        assert stored is not None
        await rb.storage.save_feed_state(dataclasses.replace(stored, **state))


async def send_file(rb: RunningBot, chat_id: int, data: bytes) -> str:
    before = len(rb.tg.messages(chat_id))
    rb.tg.user_sends_document(chat_id, "feeds.opml", data, caption="/feeds import")
    return (await rb.tg.wait_for_messages(before + 1, chat_id=chat_id))[before].text


async def stale_press(rb: RunningBot, message: SentMessage, data: str, user: int = ADMIN) -> str:
    query_id = rb.tg.user_presses(data, message, user)
    await rb.tg.wait_for(
        lambda: any(a["callback_query_id"] == query_id for a in rb.tg.callback_answers),
        what="answer",
    )
    return str(
        next(a for a in rb.tg.callback_answers if a["callback_query_id"] == query_id)["text"]
    )


def labels(message: SentMessage) -> str:
    return " | ".join(b["text"] for b in message.buttons)


def opml(*urls: str) -> bytes:
    return feeds_to_opml([FeedConfig(url=u) for u in urls]).encode()


async def admin_flow(rb: RunningBot, server: FeedServer) -> list[str]:
    """Every admin command, refused to a non-admin, then with bad input, a refused private
    address, a broken OPML file; the feed list and each of its buttons."""
    private = server.static("/news.xml", rss2(load_seeds(), title="Local News"))
    seen: list[str] = []
    for command in ("/feeds", "/addfeed https://x.example/rss", "/reload", "/stats"):
        seen.append((await rb.ask(command)).text)  # USER is not an administrator
    seen.append(await send_file(rb, USER, opml("https://x.example/rss")))
    for command in (
        "/feeds",
        "/feeds export",
        "/feeds import",
        "/feeds frob",
        "/addfeed ftp://x",
        f"/addfeed {private}",
        "/removefeed https://nope.example/rss",
        "/reload",
        "/stats",
    ):
        seen.append((await rb.ask(command, ADMIN)).text)
    seen.append(await send_file(rb, ADMIN, b"<html>not opml</html>"))
    seen.append(await send_file(rb, ADMIN, opml(*(f"https://{n}.example/rss" for n in range(51)))))
    seen.append(await send_file(rb, ADMIN, b" " * (1024 * 1024 + 1)))
    await sync_the_feeds_file(rb)
    seen.append(await send_file(rb, ADMIN, opml("https://a.example/rss", private)))
    page = await rb.ask("/feeds", ADMIN)
    seen += [*page.text.split("\n   "), labels(page)]
    seen.append((await rb.ask("/stats", ADMIN)).text)
    seen.append(await rb.press(page, "⏸", user_id=ADMIN))  # pause A: the feeds file changes
    seen += ["\n".join(page.text.split("\n")[1:3]), labels(page)]
    seen.append(await rb.press(page, "▶", user_id=ADMIN))
    seen.append(await rb.press(page, "🗑", user_id=ADMIN))
    seen.append(labels(page))
    seen.append(await rb.press(page, "❗", user_id=ADMIN))  # removes A
    seen.append(await rb.press(page, "🗑", user_id=USER))  # not an administrator
    seen.append(await stale_press(rb, page, "fd:p:1:00000000"))  # the list changed
    seen.append(await stale_press(rb, page, "fd:p:x"))
    seen.append((await rb.ask("/feeds export", ADMIN)).text)  # the OPML file's caption
    return seen


async def test_admin_commands_and_feed_buttons_in_vietnamese(tmp_path: Path) -> None:
    server = FeedServer()
    await server.start()
    try:
        async with admin_bot(tmp_path / "en", server, vietnamese=False) as rb:
            english = await admin_flow(rb, server)
        async with admin_bot(tmp_path / "vi", server, vietnamese=True) as rb:
            vietnamese = await admin_flow(rb, server)
            assert await rb.storage.get_feed("https://a.example/rss") is None  # it was removed
            text = rb.services.settings.feeds_file.read_text(encoding="utf-8")
            assert "a.example" not in text
            assert "# the desk's feeds" in text
    finally:
        await server.stop()
    assert_translated(english, vietnamese)
    refused = "❌ Lệnh này chỉ dành cho quản trị viên của bot."
    assert vietnamese[:5] == [refused] * 5
    assert vietnamese[5] == ("Chưa cấu hình nguồn tin nào. Thêm nguồn tin với /addfeed URL.")
    assert vietnamese[9] == (
        "❌ Hãy nhập một địa chỉ nguồn tin bắt đầu bằng http(s)://.\nCách dùng: /addfeed URL"
    )
    private = server.url("/news.xml")
    assert vietnamese[10].startswith(f"Không thêm được {private}: blocked address")
    assert vietnamese[10].endswith(
        "Nguồn tin ở địa chỉ loopback hoặc mạng nội bộ bị từ chối, trừ khi người vận hành đặt "
        "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES=true."
    )
    assert vietnamese[11] == (
        "Không có nguồn tin nào có URL https://nope.example/rss trong feeds.yaml. /feeds liệt "
        "kê các nguồn tin."
    )
    assert vietnamese[12] == "Đã tải lại quy tắc: 7 quy tắc đang có hiệu lực."
    assert vietnamese[13].startswith(
        "Bài khớp trong 7 ngày qua (hôm nay)\nkhông có\n\nHàng đợi gửi: 0 cảnh báo đang "
        "chờ.\nĐã chạy 0 giờ "
    )
    assert vietnamese[13].endswith(
        "\n0 nguồn tin, 0 nguồn tin có vấn đề; 7 quy tắc; 0 cảnh báo đang chờ gửi."
    )
    assert vietnamese[24].endswith(
        "\n• https://b.example/rss: HTTP 503 (3 lần liên tiếp)\n"
        "• https://c.example/rss: 410 Gone (0 lần liên tiếp)"
    )
    assert vietnamese[14] == "❌ Chưa nhập: the file is XML but not OPML (its root is <html>)."
    assert vietnamese[17].startswith(
        "📥 OPML: tệp liệt kê 2 nguồn tin, đã thêm 0.\n"
        "• https://a.example/rss: đã có trong cấu hình\n"
        f"• {private}: Không thêm được {private}: blocked address"
    )
    assert vietnamese[18:23] == [
        "Nguồn tin (3)\n1. ✅ A — https://a.example/rss",
        "tải gần nhất lúc 18:00 11/07, đã thấy 23 mục",
        "lần tải đầu: đã ghi nhận 23 mục có sẵn; cảnh báo bắt đầu từ bài mới tiếp theo "
        "(NEWSWATCH_ALERT_ON_FIRST_POLL=true để cảnh báo cả những mục này)\n"
        "2. ⚠️ https://b.example/rss — https://b.example/rss",
        "3 lỗi liên tiếp: HTTP 503\n3. ⛔ https://c.example/rss — https://c.example/rss",
        "đã tắt: 410 Gone",
    ]
    assert vietnamese[23] == (
        "⏸ Tạm dừng 1 | 🗑 Xóa 1 | ⏸ Tạm dừng 2 | 🗑 Xóa 2 | ⏸ Tạm dừng 3 | 🗑 Xóa 3"
    )
    assert vietnamese[25] == (
        "Đã tạm dừng https://a.example/rss. Các bài viết đã lưu và các bài khớp của nguồn tin "
        "vẫn được giữ."
    )
    assert vietnamese[26] == "1. ⛔ A — https://a.example/rss\n   đã tắt: trong cấu hình"
    assert vietnamese[29] == "Bấm lần nữa để xóa"
    assert vietnamese[30].endswith(
        "❗ Chắc chắn xóa 1 | Giữ lại | ⏸ Tạm dừng 2 | 🗑 Xóa 2 | ⏸ Tạm dừng 3 | 🗑 Xóa 3"
    )
    assert vietnamese[32] == "Chỉ quản trị viên của bot mới được thay đổi nguồn tin."
    assert vietnamese[-1] == "📤 2 nguồn tin dạng OPML."


async def adding_flow(rb: RunningBot, server: FeedServer) -> list[str]:
    """/addfeed and /feeds import that really add (the feeds are on 127.0.0.1, allowed here),
    and the ways an address can fail."""
    news = server.static("/news.xml", rss2(load_seeds(), title="Local News"))
    empty = server.static("/empty.xml", rss2([], title="Quiet"))
    page = server.static("/page.html", "<html><body>no feed</body></html>", "text/html")
    missing = server.url("/missing.xml")
    other = server.static("/other.xml", rss2(load_seeds()[:2], title="Other"))
    seen: list[str] = []
    for url in (news, news, empty, page, missing):
        seen.append((await rb.ask(f"/addfeed {url}", ADMIN)).text)
    seen.append(await send_file(rb, ADMIN, opml(news, other)))
    seen.append((await rb.ask(f"/removefeed {other}", ADMIN)).text)
    return seen


async def test_adding_feeds_in_vietnamese(tmp_path: Path) -> None:
    server = FeedServer()
    await server.start()
    try:
        async with admin_bot(tmp_path / "en", server, vietnamese=False, allow_private=True) as rb:
            english = await adding_flow(rb, server)
        async with admin_bot(tmp_path / "vi", server, vietnamese=True, allow_private=True) as rb:
            vietnamese = await adding_flow(rb, server)
            urls = [f.url for f in await rb.storage.list_feeds()]
    finally:
        await server.stop()
    assert_translated(english, vietnamese)
    news, other = server.url("/news.xml"), server.url("/other.xml")
    assert urls == [
        "https://a.example/rss",
        "https://b.example/rss",
        "https://c.example/rss",
        news,
        server.url("/empty.xml"),
    ]
    assert vietnamese[0].startswith("Đã thêm “Local News” (")
    assert vietnamese[0].endswith(
        f" mục): {news}. Lần tải đầu ghi nhận các mục hiện có mà không gửi cảnh báo; cảnh báo "
        "bắt đầu từ bài mới tiếp theo."
    )
    assert vietnamese[1] == f"{news} đã có trong danh sách nguồn tin; không có gì thay đổi."
    assert vietnamese[2].startswith("Đã thêm “Quiet”: ")
    assert "Lưu ý: nguồn tin hiện chưa có mục nào" in vietnamese[2]
    assert vietnamese[3].endswith(
        "Hãy nhập địa chỉ nguồn RSS hoặc Atom của trang, hoặc của một trang có liên kết tới "
        "nguồn đó."
    )
    assert vietnamese[4].endswith(
        "Hãy kiểm tra địa chỉ: mở nó trong trình duyệt để xem trang web trả lời gì."
    )
    assert vietnamese[5].startswith(
        f"📥 OPML: tệp liệt kê 2 nguồn tin, đã thêm 1.\n• {news}: đã có trong cấu hình\n"
        f"• {other}: Đã thêm “Other” (2 mục): {other}."
    )
    assert english[5].startswith("📥 OPML: 2 feeds listed, 1 added.")
    assert vietnamese[6] == (
        f"Đã xóa {other}. Các bài viết đã lưu và các bài khớp của nguồn tin vẫn được giữ."
    )


@pytest.fixture
async def srb(tmp_path: Path) -> AsyncIterator[RunningBot]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}")
    async with running_bot(storage=storage) as running:
        speak_vietnamese(running, USER)
        yield running


async def export_flow(rb: RunningBot, chat: int, rule: str) -> list[str]:
    seen = [(await rb.ask(f"/export {arg}", chat)).text for arg in ("xml", "0", "")]
    await rb.storage.subscribe(chat, rule)
    seen.append((await rb.ask("/export 7", chat)).text)
    await rb.ingest(f"Story for {chat}", rule)
    sent = await rb.ask("/export", chat)
    assert sent.document is not None
    assert sent.document.filename == "newswatch-matches-20250711.csv"
    seen.append(sent.text)  # the caption
    lines = await rb.ask("/export jsonl 1", chat)
    assert lines.document is not None
    seen.append(lines.text)
    return seen


async def test_export_in_vietnamese(srb: RunningBot) -> None:
    english = await export_flow(srb, OTHER, "csp")
    vietnamese = await export_flow(srb, USER, "unclos")
    assert_translated(english, vietnamese)
    assert vietnamese == [
        "❌ “xml” không phải là định dạng (csv, jsonl) cũng không phải là số ngày (1-3650).\n"
        "Cách dùng: /export [csv|jsonl] [SỐ_NGÀY]",
        "❌ “0” không phải là định dạng (csv, jsonl) cũng không phải là số ngày (1-3650).\n"
        "Cách dùng: /export [csv|jsonl] [SỐ_NGÀY]",
        "Cuộc trò chuyện này chưa đăng ký quy tắc nào, nên không có bài khớp nào để xuất.",
        "Không có bài khớp nào trong 7 ngày qua để xuất.",
        "📤 1 bài khớp của các quy tắc mà cuộc trò chuyện này đăng ký, trong 30 ngày qua (CSV).",
        "📤 1 bài khớp của các quy tắc mà cuộc trò chuyện này đăng ký, trong 1 ngày qua (JSONL).",
    ]
    assert english[4] == "📤 1 match of this chat's rules from the last 30 days (CSV)."


async def test_the_handlers_ask_the_admin_actions_in_the_chats_language(rb: RunningBot) -> None:
    speak_vietnamese(rb, ADMIN)
    await rb.add_feed("https://a.example/rss", name="A")
    await rb.ask("/addfeed https://x.example/rss", ADMIN)
    await rb.ask("/removefeed https://x.example/rss", ADMIN)
    await rb.ask("/reload", ADMIN)
    page = await rb.ask("/feeds", ADMIN)
    assert await rb.press(page, "⏸ Tạm dừng 1", user_id=ADMIN) == "Paused https://a.example/rss."
    # an AdminActions that answers in English still has its additions counted
    done = await send_file(rb, ADMIN, opml("https://b.example/rss"))
    assert done.startswith("📥 OPML: tệp liệt kê 1 nguồn tin, đã thêm 1.\n")
    rb.admin_actions.fail = "https://c.example/rss: not a feed"
    failed = await send_file(rb, ADMIN, opml("https://c.example/rss"))
    assert failed == (
        "📥 OPML: tệp liệt kê 1 nguồn tin, đã thêm 0.\n"
        "• https://c.example/rss: Không thêm được: https://c.example/rss: not a feed"
    )
    assert rb.admin_actions.languages == [Language.VI] * 6


async def rare_flow(rb: RunningBot, admin: int) -> list[str]:
    """Without feed management: what each command and button says; a feed never fetched."""
    seen = [
        (await rb.ask(command, admin)).text
        for command in ("/addfeed https://x.example/rss", "/reload")
    ]
    seen.append(await send_file(rb, admin, opml("https://x.example/rss")))
    page = await rb.ask("/feeds", admin)
    seen.append(page.text)
    seen.append(await rb.press(page, "⏸", user_id=admin))
    return seen


async def test_without_feed_management_in_vietnamese() -> None:
    async with running_bot(with_admin_actions=False, admin_ids=(ADMIN, ADMIN + 1)) as rb:
        speak_vietnamese(rb, ADMIN)
        await rb.add_feed("https://a.example/rss", name="A")
        english = await rare_flow(rb, ADMIN + 1)
        vietnamese = await rare_flow(rb, ADMIN)
    assert_translated(english, vietnamese)
    assert vietnamese == [
        "❌ Bản cài đặt này không có chức năng quản lý nguồn tin.",
        "❌ Bản cài đặt này không có chức năng tải lại quy tắc.",
        "❌ Không thể thay đổi nguồn tin ở đây.",
        "Nguồn tin (1)\n1. ✅ A — https://a.example/rss\n   chưa tải lần nào, đã thấy 0 mục",
        "Không thể thay đổi nguồn tin ở đây.",
    ]
    assert english[3] == (
        "Feeds (1)\n1. ✅ A — https://a.example/rss\n   last fetched not yet, items seen: 0"
    )


async def test_a_feed_change_that_fails_in_vietnamese(rb: RunningBot) -> None:
    speak_vietnamese(rb, ADMIN)
    await rb.add_feed("https://a.example/rss", name="A")
    page = await rb.ask("/feeds", ADMIN)
    rb.admin_actions.fail = "feeds.yaml: not writable"
    assert await rb.press(page, "⏸", user_id=ADMIN) == "Chưa thay đổi: feeds.yaml: not writable"
