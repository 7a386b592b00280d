"""TelegramSink against the fake Bot API server through the real python-telegram-bot Bot."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery.pacing import PaceLimits, SendPacer
from bot.delivery.sink import SendStatus
from bot.delivery.telegram_sink import TelegramSink
from bot.telegram.rate_limiter import paced_bot
from core.models import (
    Article,
    Delivery,
    DeliveryKind,
    Hit,
    Priority,
    RenderedMessage,
    RuleInfo,
    RuleMatch,
    StorySource,
)
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits

NO_PACING = PaceLimits(global_count=10_000, private_window_s=0.0, group_count=10_000)
RULES = [RuleInfo(id="csp", name="CSP"), RuleInfo(id="sea", name="Sea", priority=Priority.HIGH)]


def delivery(
    chat_id: int = 42,
    *,
    delivery_id: int = 1,
    rule: str = "csp",
    title: str = "Vietnam and partners <upgrade> ties",
    thread_id: int | None = None,
    kind: DeliveryKind = DeliveryKind.ALERT,
    message_id: int | None = None,
) -> Delivery:
    summary = "Officials met. The Comprehensive Strategic Partnership grew & deepened."
    start = summary.index("Comprehensive")
    article = Article(
        feed_url="https://news.example/rss",
        identity=f"guid:{delivery_id}",
        title=title,
        link=f"https://news.example/a/{delivery_id}",
        summary=summary,
        published_at=datetime(2025, 7, 11, 12, 0, tzinfo=UTC),
        feed_name="News Example",
    )
    hit = Hit("csp", "summary", start, start + len("Comprehensive Strategic Partnership"))
    return Delivery(
        id=delivery_id,
        chat_id=chat_id,
        article=article,
        matches=(RuleMatch(rule, (hit,)),),
        thread_id=thread_id,
        kind=kind,
        message_id=message_id,
    )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as server:
        server.add_chat(42)
        server.add_chat(-100500, "supergroup", title="Desk", is_forum=True)
        yield server


@pytest.fixture
def pacer() -> SendPacer:
    return SendPacer(NO_PACING)


@pytest.fixture
async def bot(tg: FakeTelegramServer, pacer: SendPacer) -> AsyncIterator[Bot]:
    async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=pacer) as b:
        yield b


@pytest.fixture
def sink(bot: Bot) -> TelegramSink:
    return TelegramSink(bot, tz=ZoneInfo("Asia/Ho_Chi_Minh"))


async def test_alert_is_sent_as_html_silently_for_normal_rules(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    outcome = await sink.deliver(delivery(), RULES)
    [sent] = tg.messages(42)
    assert outcome.status is SendStatus.SENT
    assert outcome.message_id == sent.message_id
    assert sent.parse_mode == "HTML"
    assert sent.text.splitlines()[0] == "Vietnam and partners <upgrade> ties"
    assert "News Example · 11 Jul 2025 19:00 +07" in sent.text
    assert sent.disable_notification is True
    bold = [sent.text[e["offset"] : e["offset"] + e["length"]] for e in sent.entities]
    assert "Comprehensive Strategic Partnership" in bold


async def test_high_priority_rings_and_forum_topic_is_used(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    outcome = await sink.deliver(delivery(-100500, rule="sea", thread_id=17), RULES)
    [sent] = tg.messages(-100500)
    assert outcome.status is SendStatus.SENT
    assert sent.disable_notification is False
    assert sent.message_thread_id == 17


async def test_edit_delivery_edits_the_earlier_alert(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    first = await sink.deliver(delivery(), RULES)
    edit = delivery(title="Vietnam and partners upgrade ties (updated)", kind=DeliveryKind.EDIT)
    edit = replace(edit, message_id=first.message_id)
    outcome = await sink.deliver(edit, RULES)
    [sent] = tg.messages(42)
    assert outcome.status is SendStatus.SENT
    assert outcome.message_id == first.message_id
    assert sent.text.startswith("Vietnam and partners upgrade ties (updated)")
    assert len(sent.edits) == 1
    assert "✏️ updated" in sent.edits[0]  # an edited alert says so
    # the same edit again: Telegram says "not modified", which is success
    again = await sink.deliver(edit, RULES)
    assert again.status is SendStatus.SENT
    assert len(tg.messages(42)) == 1


async def test_edit_of_a_deleted_alert_is_sent_as_a_new_message(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    outcome = await sink.deliver(delivery(kind=DeliveryKind.EDIT, message_id=999), RULES)
    assert outcome.status is SendStatus.SENT
    [sent] = tg.messages(42)
    assert sent.message_id == outcome.message_id


async def test_retry_after_is_returned_exactly_and_holds_the_chat(
    sink: TelegramSink, tg: FakeTelegramServer, pacer: SendPacer
) -> None:
    tg.inject_error("sendMessage", 429, "Too Many Requests: retry after 7", {"retry_after": 7})
    outcome = await sink.deliver(delivery(), RULES)
    assert outcome.status is SendStatus.RETRY
    assert outcome.retry_after_s == 7
    # held by the bot's rate limiter, and not retried behind the outbox's back
    held, free = pacer.earliest(42), pacer.earliest(43)
    assert held is not None
    assert free is not None
    assert held >= free + 6
    assert len(tg.calls_of("sendMessage")) == 1


async def test_real_rate_limit_from_the_server_maps_to_retry(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    tg.rate_limits = RateLimits()
    assert (await sink.deliver(delivery(delivery_id=1), RULES)).status is SendStatus.SENT
    outcome = await sink.deliver(delivery(delivery_id=2), RULES)
    assert outcome.status is SendStatus.RETRY
    assert outcome.retry_after_s == 1


async def test_blocked_chat_is_gone(sink: TelegramSink, tg: FakeTelegramServer) -> None:
    tg.block(42)
    outcome = await sink.deliver(delivery(), RULES)
    assert outcome.status is SendStatus.CHAT_GONE
    assert outcome.error is not None
    assert "blocked" in outcome.error


async def test_unknown_chat_is_gone(sink: TelegramSink) -> None:
    outcome = await sink.deliver(delivery(chat_id=777), RULES)
    assert outcome.status is SendStatus.CHAT_GONE


async def test_migrated_group_returns_the_new_id(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    tg.add_chat(-5, "group", title="Old group")
    tg.migrate(-5, -1005)
    outcome = await sink.deliver(delivery(chat_id=-5), RULES)
    assert outcome.status is SendStatus.RETRY
    assert outcome.new_chat_id == -1005
    assert tg.messages(-5) == []


async def test_markup_refused_is_resent_once_as_plain_text_and_logged_as_a_bug(
    sink: TelegramSink, tg: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    tg.inject_error(
        "sendMessage", 400, 'Bad Request: can\'t parse entities: Unsupported start tag "x"'
    )
    with caplog.at_level(logging.ERROR, logger="bot.delivery.telegram_sink"):
        outcome = await sink.deliver(delivery(), RULES)
    assert outcome.status is SendStatus.SENT
    [sent] = tg.messages(42)
    assert sent.parse_mode is None
    assert sent.entities == []
    assert sent.text.startswith("Vietnam and partners <upgrade> ties")
    assert any("BUG" in r.getMessage() for r in caplog.records)


async def test_markup_refused_twice_fails_without_a_third_try(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    for _ in range(2):
        tg.inject_error("sendMessage", 400, "Bad Request: can't parse entities: nope")
    outcome = await sink.deliver(delivery(), RULES)
    assert outcome.status is SendStatus.FAILED
    assert len(tg.calls_of("sendMessage")) == 2


async def test_deleted_forum_topic_falls_back_to_the_chat(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    tg.inject_error("sendMessage", 400, "Bad Request: message thread not found")
    outcome = await sink.deliver(delivery(-100500, thread_id=99), RULES)
    assert outcome.status is SendStatus.SENT
    [sent] = tg.messages(-100500)
    assert sent.message_thread_id is None


async def test_other_bad_request_is_a_permanent_failure(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    tg.inject_error("sendMessage", 400, "Bad Request: something else is wrong")
    outcome = await sink.deliver(delivery(), RULES)
    assert outcome.status is SendStatus.FAILED
    assert outcome.error == "Something else is wrong"


async def test_network_error_is_retried_with_the_outbox_backoff(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    tg.inject_error("sendMessage", 502, "Bad Gateway")
    outcome = await sink.deliver(delivery(), RULES)
    assert outcome.status is SendStatus.RETRY
    assert outcome.retry_after_s is None  # the outbox's exponential backoff applies
    assert outcome.error is not None
    assert outcome.error.startswith("network error")


async def test_timeout_is_retried(tg: FakeTelegramServer) -> None:
    request = HTTPXRequest(read_timeout=0.2)
    async with paced_bot(
        DEFAULT_TOKEN, base_url=tg.base_url, pacer=SendPacer(NO_PACING), request=request
    ) as bot:
        sink = TelegramSink(bot)
        tg.inject_delay("sendMessage", 1.0)
        outcome = await sink.deliver(delivery(), RULES)
    assert outcome.status is SendStatus.RETRY
    assert outcome.error is not None
    assert outcome.error.startswith("timed out")


async def test_digest_pages_go_out_in_order(sink: TelegramSink, tg: FakeTelegramServer) -> None:
    from bot.delivery.folding import format_digest, items_from_deliveries

    pages = format_digest(
        items_from_deliveries([delivery(delivery_id=i) for i in range(120)]),
        {r.id: r for r in RULES},
        ZoneInfo("UTC"),
    )
    assert len(pages) > 1
    outcome = await sink.send_digest(42, pages)
    assert outcome.status is SendStatus.SENT
    sent = tg.messages(42)
    assert [m.message_id for m in sent][-1] == outcome.message_id
    assert [m.text.split("\n")[0] for m in sent] == [
        f"📰 120 new matches ({i}/{len(pages)})" for i in range(1, len(pages) + 1)
    ]


async def test_digest_stops_at_the_first_failure(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    tg.block(42)
    outcome = await sink.send_digest(
        42, [RenderedMessage("a", "a", True), RenderedMessage("b", "b", True)]
    )
    assert outcome.status is SendStatus.CHAT_GONE
    assert len(tg.calls_of("sendMessage")) == 1


async def test_a_story_source_edits_the_alert_and_a_late_one_replies_to_it(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    # Issue #13: SOURCES edits the story's alert in place; REPLY answers it in its thread.
    first = await sink.deliver(delivery(), RULES)
    assert first.message_id is not None
    one, two = delivery(delivery_id=1).article, delivery(delivery_id=2).article
    assert one is not None
    assert two is not None
    sources = tuple(
        StorySource(n, a.title, a.link, a.feed_url, name, a.published_at)
        for n, a, name in ((1, one, "News Example"), (2, two, "Other Wire"))
    )
    edit = replace(delivery(), kind=DeliveryKind.SOURCES, message_id=first.message_id)
    outcome = await sink.deliver(replace(edit, sources=sources), RULES)
    [sent] = tg.messages(42)
    assert outcome.message_id == first.message_id
    assert sent.edits[-1].endswith(
        '📰 2 sources: <a href="https://news.example/a/1">News Example</a>, '
        '<a href="https://news.example/a/2">Other Wire</a>'
    )
    # The edit keeps the alert's buttons (#16): Telegram drops a keyboard an edit leaves out,
    # and the story's alert row is the one the buttons name.
    assert sent.reply_markup is not None
    data = [b.get("callback_data") for row in sent.reply_markup["inline_keyboard"] for b in row]
    assert f"al:nr:{edit.id}" in data
    late = replace(delivery(delivery_id=2), kind=DeliveryKind.REPLY, message_id=first.message_id)
    replied = await sink.deliver(replace(late, sources=sources), RULES)
    assert replied.status is SendStatus.SENT
    assert len(tg.messages(42)) == 2
    params = tg.calls_of("sendMessage")[-1].params
    assert json.loads(str(params["reply_parameters"])) == {"message_id": first.message_id}
    assert tg.messages(42)[1].text.startswith("➕ New source for this story: News Example")
    assert tg.messages(42)[1].reply_markup is None  # a note under the alert, which has them


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


async def test_a_chart_is_sent_as_a_photo_with_its_caption(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    caption = RenderedMessage("📈 <b>CSP</b> &amp; more", "📈 CSP & more", False)
    outcome = await sink.send_chart(-100500, PNG, caption, thread_id=17)
    [sent] = tg.messages(-100500)
    assert outcome.status is SendStatus.SENT
    assert outcome.message_id == sent.message_id
    assert (sent.photo, sent.text, sent.message_thread_id) == (PNG, "📈 CSP & more", 17)


async def test_a_chart_falls_back_to_a_plain_caption_and_the_chat_itself(
    sink: TelegramSink, tg: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    caption = RenderedMessage("<b>broken", "broken", False)
    with caplog.at_level(logging.ERROR):
        outcome = await sink.send_chart(42, PNG, caption, thread_id=99)
    [sent] = tg.messages(42)
    assert outcome.status is SendStatus.SENT
    assert (sent.text, sent.parse_mode, sent.message_thread_id) == ("broken", None, None)
    assert "BUG" in caplog.text


async def test_a_chart_refused_for_good_fails_and_a_blocked_chat_is_gone(
    sink: TelegramSink, tg: FakeTelegramServer
) -> None:
    long = RenderedMessage("x" * 1100, "x" * 1100, False)
    assert (await sink.send_chart(42, PNG, long)).status is SendStatus.FAILED
    tg.block(42)
    short = RenderedMessage("x", "x", False)
    assert (await sink.send_chart(42, PNG, short)).status is SendStatus.CHAT_GONE
