"""A story's alert lists its sources (first source's title stays); a late source is a reply."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.delivery.story_format import MAX_LISTED, format_delivery, sources_line
from core.models import (
    Article,
    Delivery,
    DeliveryKind,
    Language,
    RuleInfo,
    RuleMatch,
    StorySource,
)
from tests.fakes.telegram_html import parse_html

UTC_TZ = ZoneInfo("UTC")
WHEN = datetime(2025, 7, 11, 8, 0, tzinfo=UTC)
FIRST = Article(
    feed_url="https://vna.example/rss",
    identity="guid:1",
    title="Son meets Rubio in Kuala Lumpur",
    link="https://vna.example/1",
    summary="Deputy Prime Minister Bui Thanh Son met Marco Rubio.",
    published_at=WHEN,
    feed_name="VNA",
)
SECOND = Article(
    feed_url="https://vietnamnet.example/rss",
    identity="guid:2",
    title="Vietnam, US top diplomats meet <in> KL",
    link="https://vietnamnet.example/2",
    published_at=WHEN,
    feed_name="VietNamNet",
)


def source(a: Article, n: int) -> StorySource:
    return StorySource(n, a.title, a.link, a.feed_url, a.feed_name, a.published_at)


def delivery(kind: DeliveryKind, *sources: StorySource, article: Article = FIRST) -> Delivery:
    return Delivery(
        id=1,
        chat_id=5,
        article=article,
        matches=(RuleMatch("csp"),),
        kind=kind,
        message_id=77,
        sources=sources,
    )


RULES = {"csp": RuleInfo("csp", "CSP")}


def test_one_source_is_a_plain_alert() -> None:
    message = format_delivery(delivery(DeliveryKind.ALERT), RULES, UTC_TZ)
    assert "sources" not in message.plain


def test_the_sources_edit_keeps_the_first_title_and_links_every_source() -> None:
    both = (source(FIRST, 1), source(SECOND, 2))
    message = format_delivery(delivery(DeliveryKind.SOURCES, *both), RULES, UTC_TZ)
    assert message.plain.startswith("Son meets Rubio in Kuala Lumpur\nVNA · 11 Jul 2025")
    assert message.plain.endswith("\n📰 2 sources: VNA, VietNamNet")
    assert "updated" not in message.plain  # the outlet did not edit anything
    assert message.html.endswith(
        '📰 2 sources: <a href="https://vna.example/1">VNA</a>, '
        '<a href="https://vietnamnet.example/2">VietNamNet</a>'
    )
    parse_html(message.html)  # Telegram would accept it


def test_many_sources_are_counted_beyond_the_listed_ones() -> None:
    many = tuple(source(SECOND, n) for n in range(MAX_LISTED + 3))
    html_line, plain_line = sources_line(many)
    assert plain_line.startswith(f"📰 {MAX_LISTED + 3} sources: VietNamNet, ")
    assert plain_line.endswith(" +3 more")
    assert html_line.count("<a href=") == MAX_LISTED


def test_a_late_source_is_a_silent_reply_naming_it() -> None:
    both = (source(FIRST, 1), source(SECOND, 2))
    message = format_delivery(delivery(DeliveryKind.REPLY, *both, article=SECOND), RULES, UTC_TZ)
    assert message.plain == (
        "➕ New source for this story: VietNamNet · 2 sources now\n"
        "Vietnam, US top diplomats meet <in> KL\nhttps://vietnamnet.example/2"
    )
    assert message.disable_notification
    assert "&lt;in&gt;" in message.html
    parse_html(message.html)


def test_in_vietnamese_the_sources_and_the_reply_read_as_vietnamese() -> None:
    many = tuple(source(SECOND, n) for n in range(MAX_LISTED + 3))
    html_line, plain_line = sources_line(many, Language.VI)
    assert plain_line.startswith(f"📰 {MAX_LISTED + 3} nguồn tin: VietNamNet, ")
    assert plain_line.endswith(" và 3 nguồn khác")
    parse_html(html_line)
    both = (source(FIRST, 1), source(SECOND, 2))
    reply = format_delivery(
        delivery(DeliveryKind.REPLY, *both, article=SECOND), RULES, UTC_TZ, language=Language.VI
    )
    assert reply.plain.splitlines()[0] == (
        "➕ Thêm nguồn tin cho tin này: VietNamNet · nay có 2 nguồn tin"
    )
    assert "<b>VietNamNet</b>" in reply.html
    assert "&lt;in&gt;" in reply.html  # the headline is the feed's, escaped, untranslated
    parse_html(reply.html)
    untitled = format_delivery(
        delivery(DeliveryKind.EDIT, article=replace(FIRST, title="")),
        RULES,
        UTC_TZ,
        language=Language.VI,
    )
    assert untitled.plain.splitlines()[:2] == [
        "(không có tiêu đề)",
        "VNA · 08:00 11/07/2025 UTC · ✏️ đã cập nhật",
    ]
