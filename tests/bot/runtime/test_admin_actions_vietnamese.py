"""The admin actions' sentences in Vietnamese, for the cases the Telegram flows do not reach: a
feeds file that cannot be read, a page leading to a listed feed, rule files with errors, the
status summary. Real SqlStorage, a real feeds file and a feed server on 127.0.0.1."""

from __future__ import annotations

import dataclasses

from bot.runtime.admin_actions import AppAdminActions
from bot.runtime.feeds_reloader import FeedsReloader
from bot.services import Services
from core.models import Language
from tests.bot.runtime.test_admin_actions import _actions, parts
from tests.fakes.feed_server import FeedServer
from tests.support.seeds import load_seeds, rss2
from watchers.fetch import FeedFetcher

__all__ = ["parts"]  # the fixture, shared with test_admin_actions

VI = Language.VI


async def test_a_page_leading_to_a_listed_feed_and_a_removal(
    parts: tuple[Services, FeedServer, FeedFetcher],
) -> None:
    services, server, fetcher = parts
    feed = server.static("/news.xml", rss2(load_seeds(), title="Local News"))
    page = server.static(
        "/index.html",
        f'<html><head><link rel="alternate" type="application/rss+xml" href="{feed}"></head>'
        "</html>",
        "text/html",
    )
    actions = _actions(services, fetcher)
    added = await actions.add_feed(feed, VI)
    assert added.startswith("Đã thêm “Local News” (")
    assert await actions.add_feed(page, VI) == (
        f"{page} dẫn đến {feed}, nguồn tin đã có trong danh sách; không có gì thay đổi."
    )
    assert await actions.add_feed(page) == (
        f"{page} leads to {feed}, which is already in the feeds list; nothing changed."
    )
    assert await actions.set_feed_enabled(feed, False, VI) == (
        f"Đã tạm dừng {feed}. Các bài viết đã lưu và các bài khớp của nguồn tin vẫn được giữ."
    )
    assert await actions.set_feed_enabled(feed, True, VI) == f"Đã cho {feed} hoạt động lại."
    assert await actions.set_feed_enabled("https://x.example/", True, VI) == (
        "Không có nguồn tin nào có URL https://x.example/ trong feeds.yaml. /feeds liệt kê các "
        "nguồn tin."
    )


async def test_a_feeds_file_that_cannot_be_read(
    parts: tuple[Services, FeedServer, FeedFetcher],
) -> None:
    services, server, fetcher = parts
    services.settings.feeds_file.write_text("feeds: [unclosed\n", encoding="utf-8")
    actions = _actions(services, fetcher)
    url = "https://a.example/rss"
    assert await actions.add_feed(server.url("/x.xml"), VI) == (
        f"Không thêm được {server.url('/x.xml')}: không đọc hoặc ghi được tệp nguồn tin. Người "
        "vận hành có thể xem nguyên nhân bằng lệnh: newswatch doctor"
    )
    removed = await actions.remove_feed(url, VI)
    assert removed.startswith("Chưa xóa: không đọc được feeds.yaml (")
    changed = await actions.set_feed_enabled(url, False, VI)
    assert changed.startswith(
        "Chưa thay đổi: không đọc được feeds.yaml hoặc tệp sẽ trở nên không hợp lệ ("
    )
    assert (await actions.remove_feed(url)).startswith("Not removed: feeds.yaml cannot be read")


async def test_reload_and_status_in_vietnamese(
    parts: tuple[Services, FeedServer, FeedFetcher],
) -> None:
    services, _server, fetcher = parts
    state = await services.storage.get_feed("https://b.example/feed.xml")
    assert state is not None
    await services.storage.save_feed_state(
        dataclasses.replace(state, consecutive_errors=3, last_error="HTTP 503")
    )

    async def broken_rules() -> bool:
        return False

    async def report(message: object) -> None:  # any notice is a failure
        raise AssertionError(message)

    actions = AppAdminActions(
        services,
        fetcher=fetcher,
        reload_rules=broken_rules,
        reload_feeds=FeedsReloader(services, report).reload_now,
    )
    assert await actions.reload_rules(VI) == (
        "Các tệp quy tắc có lỗi (chi tiết đã gửi cho quản trị viên); 0 quy tắc vẫn giữ hiệu lực."
    )
    assert await actions.reload_rules() == (
        "The rule files have errors (details sent to admins); 0 rules stay in force."
    )
    status = (await actions.status_text(VI)).split("\n")
    assert status[0].startswith("Đã chạy 0 giờ ")
    assert status[1:] == [
        "3 nguồn tin, 1 nguồn tin có vấn đề; 0 quy tắc; 0 cảnh báo đang chờ gửi.",
        "• https://b.example/feed.xml: HTTP 503 (3 lần liên tiếp)",
    ]
    english = (await actions.status_text()).split("\n")
    assert english[1] == "3 feeds, 1 with problems; 0 rules; 0 alerts waiting to be sent."


async def test_a_feed_found_on_a_page(parts: tuple[Services, FeedServer, FeedFetcher]) -> None:
    services, server, fetcher = parts
    feed = server.static("/news.xml", rss2(load_seeds()[:2], title="Local News"))
    page = server.static(
        "/index.html",
        f'<html><head><link rel="alternate" type="application/rss+xml" href="{feed}"></head>'
        "</html>",
        "text/html",
    )
    assert await _actions(services, fetcher).add_feed(page, VI) == (
        f"Đã thêm “Local News” (2 mục): {feed} (tìm thấy trên {page}). Lần tải đầu ghi nhận các "
        "mục hiện có mà không gửi cảnh báo; cảnh báo bắt đầu từ bài mới tiếp theo."
    )
