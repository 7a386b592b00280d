"""Flood folding and the digest formatter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.folding import (
    FoldPolicy,
    format_digest,
    items_from_deliveries,
    items_from_matches,
    should_fold,
)
from core.models import (
    Article,
    Delivery,
    DeliveryKind,
    Language,
    Priority,
    RuleInfo,
    RuleMatch,
    StorySource,
)
from storage.base import StoredMatch
from tests.fakes.telegram_html import parse_html, utf16_len

T0 = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
RULES = {
    "csp": RuleInfo(id="csp", name="Comprehensive Strategic Partnership"),
    "sea": RuleInfo(id="sea", name="East Sea", priority=Priority.HIGH),
}


def delivery(
    i: int,
    seconds: float,
    rules: tuple[str, ...] = ("csp",),
    kind: DeliveryKind = DeliveryKind.ALERT,
) -> Delivery:
    article = Article(
        feed_url="https://news.example/rss",
        identity=f"guid:{i}",
        title=f"Story {i} <b>&",
        link=f"https://news.example/{i}",
        published_at=T0 + timedelta(seconds=seconds),
        feed_name="News",
    )
    return Delivery(
        id=i,
        chat_id=42,
        article=article,
        matches=tuple(RuleMatch(r) for r in rules),
        created_at=T0 + timedelta(seconds=seconds),
        kind=kind,
    )


def test_five_within_a_minute_is_not_a_flood_six_is() -> None:
    five = [delivery(i, i * 10) for i in range(5)]
    assert not should_fold(five)
    assert should_fold([*five, delivery(5, 55)])


def test_spread_out_alerts_are_not_folded() -> None:
    spread = [delivery(i, i * 20) for i in range(10)]  # 3 per minute at most
    assert not should_fold(spread)
    assert should_fold(spread, FoldPolicy(threshold=2, window_s=60))


def test_undated_deliveries_count_as_a_burst() -> None:
    undated = [
        Delivery(id=i, chat_id=1, article=delivery(i, 0).article, matches=()) for i in range(6)
    ]
    assert should_fold(undated)


def test_digest_groups_by_rule_and_escapes_everything() -> None:
    items = items_from_deliveries(
        [
            delivery(1, 0, ("csp",)),
            delivery(2, 60, ("sea", "csp")),
            delivery(3, 120, ("csp",), kind=DeliveryKind.EDIT),
            delivery(1, 130, ("csp",)),  # the same article again: listed once
        ]
    )
    [message] = format_digest(items, RULES, HCM)
    parsed = parse_html(message.html)
    assert parsed.text == (
        "📰 3 new matches\n"
        "\n#csp — Comprehensive Strategic Partnership (2)\n"
        "• Story 1 <b>& — News · 11 Jul 19:00\n"
        "• (updated) Story 3 <b>& — News · 11 Jul 19:02\n"
        "\n#sea — East Sea (1)\n"
        "• Story 2 <b>& — News · 11 Jul 19:01 #csp"
    )
    assert message.disable_notification is False  # a high-priority rule is in it
    assert "https://news.example/1" in message.plain


def test_nothing_gives_no_message() -> None:
    assert format_digest([], RULES, HCM) == []


def test_a_burst_of_200_becomes_a_few_messages_within_the_limit() -> None:
    items = items_from_deliveries([delivery(i, i * 0.1) for i in range(200)])
    messages = format_digest(items, RULES, HCM, heading="Daily digest")
    assert 2 <= len(messages) <= 6
    assert messages[0].plain.startswith(f"Daily digest (1/{len(messages)})")
    listed = 0
    for m in messages:
        parsed = parse_html(m.html)
        assert utf16_len(parsed.text) <= 4096
        assert utf16_len(m.plain) <= 4096
        listed += parsed.text.count("\n• ")
        assert m.disable_notification is True
    assert listed == 200


def test_items_from_stored_matches_list_each_article_once() -> None:
    matches = [
        StoredMatch("csp", 1, "A", "https://a.example/1", "https://a.example/rss", T0),
        StoredMatch("sea", 1, "A", "https://a.example/1", "https://a.example/rss", T0),
        StoredMatch("sea", 2, "B", None, "https://www.b.example/rss", T0),
    ]
    items = items_from_matches(matches)
    assert [(i.title, i.rule_ids, i.source) for i in items] == [
        ("A", ("csp", "sea"), "a.example"),
        ("B", ("sea",), "b.example"),
    ]


def test_next_digest_times() -> None:
    from bot.delivery.folding import next_digest_at

    at = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)  # 19:00 in Ho Chi Minh City
    assert next_digest_at("hourly", at, HCM) == datetime(2025, 7, 11, 13, 0, tzinfo=UTC)
    assert next_digest_at("hourly", at.replace(minute=59), HCM) == at.replace(hour=13)
    assert next_digest_at("daily 20:30", at, HCM) == datetime(2025, 7, 11, 13, 30, tzinfo=UTC)
    assert next_digest_at("daily 08:00", at, HCM) == datetime(2025, 7, 12, 1, 0, tzinfo=UTC)
    assert next_digest_at("daily 19:00", at, HCM) == datetime(2025, 7, 12, 12, 0, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")  # across the spring-forward night
    before_dst = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)
    assert next_digest_at("daily 08:00", before_dst, berlin) == datetime(
        2025, 3, 30, 6, 0, tzinfo=UTC
    )
    import pytest

    with pytest.raises(ValueError, match="unknown digest schedule"):
        next_digest_at("weekly", at, HCM)


def test_a_digest_lists_a_story_once_with_its_sources() -> None:
    def stored(article_id: int, host: str, rule_id: str = "csp") -> StoredMatch:
        return StoredMatch(
            rule_id=rule_id,
            article_id=article_id,
            title=f"Report {article_id}",
            link=f"https://{host}/{article_id}",
            feed_url=f"https://{host}/rss",
            matched_at=datetime(2025, 7, 11, 8, article_id, tzinfo=UTC),
        )

    matches = [
        stored(1, "vna.example"),
        stored(2, "vietnamnet.example", "sea"),
        stored(3, "x.example"),
    ]
    items = items_from_matches(matches, {1: 10, 2: 10, 3: 11})
    assert [(i.title, i.rule_ids, i.also) for i in items] == [
        ("Report 1", ("csp", "sea"), ("vietnamnet.example",)),
        ("Report 3", ("csp",), ()),
    ]
    (page,) = format_digest(items, {}, ZoneInfo("UTC"))
    assert (
        "• Report 1 — 2 sources: vna.example, vietnamnet.example · 11 Jul 08:01 #sea" in page.plain
    )


def test_a_folded_story_alert_keeps_its_sources() -> None:
    article = Article(
        feed_url="https://vna.example/rss",
        identity="guid:1",
        title="Son meets Rubio",
        feed_name="VNA",
    )
    other = StorySource(2, "Son, Rubio meet", "https://vietnamnet.example/2", "https://v/rss")
    mine = StorySource(1, article.title, None, article.feed_url, "VNA")
    d = Delivery(
        id=1, chat_id=1, article=article, matches=(RuleMatch("csp"),), sources=(mine, other)
    )
    (item,) = items_from_deliveries([d])
    assert (item.source, item.also) == ("VNA", ("vietnamnet.example",))


def test_a_vietnamese_digest_has_vietnamese_words_and_dates() -> None:
    items = items_from_deliveries(
        [
            delivery(1, 0, ("csp",)),
            delivery(2, 60, ("sea", "csp")),
            delivery(3, 120, ("csp",), kind=DeliveryKind.EDIT),
        ]
    )
    [message] = format_digest(items, RULES, HCM, language=Language.VI)
    assert parse_html(message.html).text == (
        "📰 3 bài mới khớp quy tắc\n"
        "\n#csp — Comprehensive Strategic Partnership (2)\n"
        "• Story 1 <b>& — News · 19:00 11/07\n"
        "• (đã cập nhật) Story 3 <b>& — News · 19:02 11/07\n"
        "\n#sea — East Sea (1)\n"
        "• Story 2 <b>& — News · 19:01 11/07 #csp"
    )
    matches = [
        StoredMatch(
            rule_id="csp",
            article_id=n,
            title=f"Report {n}",
            link=f"https://{host}/{n}",
            feed_url=f"https://{host}/rss",
            matched_at=datetime(2025, 7, 11, 8, n, tzinfo=UTC),
        )
        for n, host in ((1, "vna.example"), (2, "vietnamnet.example"))
    ]
    (page,) = format_digest(
        items_from_matches(matches, {1: 10, 2: 10}), {}, HCM, language=Language.VI
    )
    assert "• Report 1 — 2 nguồn tin: vna.example, vietnamnet.example · 15:01 11/07" in page.plain
