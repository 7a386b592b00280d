"""The alert area of the catalogues (``bot.i18n.alert_messages``) and its helpers
(``bot.i18n.forms``): words that are safe inside Telegram HTML, dates that need no locale, the
forms of a count, and the admin notices of a feed's health in Vietnamese."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import alert_messages
from bot.i18n.forms import counted, decimal, moment
from bot.runtime.admin_notices import feed_health_notice, notice_text
from core.models import FeedState, Language
from watchers.feed_health import feeds_to_report

# the entries that carry markup (what they are given is escaped by the caller)
HTML_KEYS = {"trend.spike_title", "feedback.marks_title.one", "feedback.marks_title.many"}
NOW = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_words_hold_no_markup_characters_so_they_go_into_html_as_they_are() -> None:
    for catalogue in (alert_messages.EN, alert_messages.VI):
        marked = [k for k, v in catalogue.items() if re.search(r"[<>&]", v)]
        assert sorted(marked) == sorted(HTML_KEYS)


def test_vietnamese_dates_use_no_locale_dependent_field() -> None:
    for key, pattern in alert_messages.VI.items():
        if key.startswith("date."):
            fields = set(re.findall(r"%(.)", pattern))
            assert fields <= {"d", "m", "Y", "H", "M"}, key


def test_every_count_has_both_forms() -> None:
    stems = {k.rsplit(".", 1)[0] for k in alert_messages.EN if k.endswith((".one", ".many"))}
    for stem in stems:
        assert f"{stem}.one" in alert_messages.EN
        assert f"{stem}.many" in alert_messages.EN


def test_forms() -> None:
    assert counted(None, "digest.heading_new", 1) == "📰 1 new match"
    assert counted(Language.EN, "digest.heading_new", 2) == "📰 2 new matches"
    assert counted(Language.VI, "digest.heading_new", 1) == "📰 1 bài mới khớp quy tắc"
    assert moment(None, "date.alert_long", NOW, HCM) == "11 Jul 2025 19:00"
    assert moment(Language.VI, "date.alert_long", NOW, HCM) == "19:00 11/07/2025"
    assert moment(Language.VI, "date.alert_short", NOW, HCM) == "19:00 11/07"
    assert decimal(Language.VI, 2.5) == "2,5"
    assert decimal(None, 2.5) == "2.5"


def _report(state: FeedState) -> str:
    (report,) = feeds_to_report([state], NOW)
    return notice_text(feed_health_notice(report, state, NOW), Language.VI)


def test_feed_health_notices_in_vietnamese_and_english() -> None:
    failing = FeedState(
        url="https://vna.example/rss",
        name="VNA",
        consecutive_errors=7,
        last_error="HTTP 503",
        failing_since=NOW - timedelta(days=1, hours=4),
        last_success_at=NOW - timedelta(days=2),
    )
    assert _report(failing) == (
        "VNA: lỗi liên tục trong 1 ngày 4 giờ (7 lỗi liên tiếp), lỗi gần nhất: HTTP 503"
    )
    (report,) = feeds_to_report([failing], NOW)
    english = notice_text(feed_health_notice(report, failing, NOW), None)
    assert english == report.message  # English as watchers.feed_health writes it
    assert english.startswith("VNA: failing for 1d 4h")
    silent = FeedState(
        url="https://vnn.example/rss",
        last_success_at=NOW,
        last_new_item_at=NOW - timedelta(days=3),
        avg_new_item_interval_s=3600,
    )
    assert _report(silent) == (
        "https://vnn.example/rss: không có bài mới trong 3 ngày (thường cứ 1 giờ có một bài)"
    )
    gone = FeedState(url="https://old.example/rss", name="Old", disabled_reason="410 Gone")
    assert _report(gone) == "Old: đã bị vô hiệu hóa (410 Gone); hãy gỡ nguồn tin hoặc sửa URL"
