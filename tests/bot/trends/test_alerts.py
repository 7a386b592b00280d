"""Spike alerts: judged on hours, one per spike, only to subscribers who opted in, sent as a
photo through the outbox and the one sink (the fake Bot API checks the upload and caption)."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.delivery.console_sink import ConsoleSink
from bot.delivery.outbox import OutboxSender
from bot.delivery.pacing import PaceLimits, SendPacer
from bot.delivery.telegram_sink import TelegramSink
from bot.services import RuleHolder, Services
from bot.telegram.rate_limiter import paced_bot
from bot.trends.alerts import MAX_CAPTION, Spike, TrendAlerts, current_spike, trend_caption
from bot.trends.chart_cache import chart_key
from bot.trends.charts import trend_png
from bot.trends.series import TrendSeries, trend_series
from bot.trends.stats import Judgement
from core.clock import FakeClock
from core.models import Language
from rules import RuleSet
from storage import SqlStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits
from tests.fakes.telegram_html import parse_html, utf16_len
from tests.support.storage_helpers import make_article, match, subscribed

NOW = datetime(2025, 7, 11, 12, 40, tzinfo=UTC)
HOUR = timedelta(hours=1)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def series(spikes: list[bool]) -> TrendSeries:
    starts = tuple(NOW.replace(minute=0) - HOUR * (len(spikes) - 1 - i) for i in range(len(spikes)))
    judged = tuple(Judgement(9 if s else 1, 1.0, 1e-6 if s else 0.5, s) for s in spikes)
    return TrendSeries("csp", "hour", starts, judged)


def test_a_spike_is_named_by_its_first_hour() -> None:
    s = series([False, True, True, True])
    spike = current_spike(s)
    assert spike is not None
    assert spike.started_at == s.starts[1]
    assert spike.latest_at == s.starts[3]
    # the hour in progress is not (yet) a spike but the one before is: still "now"
    assert current_spike(series([False, True, False])) is not None
    assert current_spike(series([True, False, False])) is None  # over
    assert current_spike(series([False] * 5)) is None


def test_the_caption_is_valid_html_within_telegrams_limit() -> None:
    spike = Spike(NOW.replace(minute=0), NOW.replace(minute=0), 12, 1.25, 2e-7)
    caption = trend_caption("csp", "<Ties> & " + "x" * 2000, spike, TZ, "http://h:8080/")
    parsed = parse_html(caption.html)
    assert utf16_len(parsed.text) <= MAX_CAPTION
    assert "12 stories in the hour from 19:00" in caption.plain
    assert "/trend csp off" in caption.plain
    assert 'href="http://h:8080/trends?rule=csp&amp;days=7&amp;by=hour"' in caption.html


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    yield storage
    await storage.close()


async def _matches(store: SqlStorage, when: datetime, n: int, first: int) -> int:
    for i in range(first, first + n):
        await store.ingest(make_article(i), [match("csp")], when, alert=False)
    return first + n


async def _steady_history(store: SqlStorage) -> int:
    """Two days of one csp story every other hour, up to the hour before NOW."""
    n = 1
    for h in range(48, 0, -2):
        n = await _matches(store, NOW.replace(minute=5) - HOUR * h, 1, n)
    return n


def _alerts(store: SqlStorage, clock: FakeClock) -> TrendAlerts:
    return TrendAlerts(
        store, store, clock, lambda: {"csp": "Strategic partnership"}, tz=TZ, console_url=None
    )


async def test_one_alert_per_spike_to_subscribers_who_opted_in(store: SqlStorage) -> None:
    clock = FakeClock(NOW)
    n = await _steady_history(store)
    await subscribed(store, 1, "csp")
    await subscribed(store, 2, "csp")  # subscribed, not opted in
    await subscribed(store, 3, "sea")
    await store.set_trend_watch(1, "csp", True, NOW)
    await store.set_trend_watch(3, "csp", True, NOW)  # opted in, not subscribed to csp
    alerts = _alerts(store, clock)
    assert await alerts.run_once() == 0  # steady: nothing stands out
    n = await _matches(store, NOW.replace(minute=10), 12, n)
    assert await alerts.run_once() == 1
    assert await alerts.run_once() == 0  # the same spike
    clock.set(NOW + HOUR)
    n = await _matches(store, NOW.replace(minute=10) + HOUR, 12, n)  # it goes on
    assert await alerts.run_once() == 0
    # A new spike once the first has left the 28-hour window (a burst soon after a burst is
    # judged against a history that now varies a lot, so it takes more to stand out).
    clock.set(NOW + 30 * HOUR)
    await _matches(store, NOW.replace(minute=10) + 30 * HOUR, 15, n)
    assert await alerts.run_once() == 1
    due = await store.due_deliveries(clock.now())
    assert [d.chat_id for d in due] == [1, 1]
    assert all(d.image and d.image.startswith(b"\x89PNG") for d in due)


async def _sender(store: SqlStorage, clock: FakeClock, sink: object) -> OutboxSender:
    services = Services(Settings(), FeedsConfig(300, ()), store, RuleHolder(RuleSet.empty()), clock)
    return OutboxSender(services, sink)  # type: ignore[arg-type]


async def test_the_trend_alert_is_a_photo_through_the_one_sink(store: SqlStorage) -> None:
    clock = FakeClock(NOW)
    n = await _steady_history(store)
    await _matches(store, NOW.replace(minute=10), 12, n)
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as tg:
        tg.add_chat(42)
        await subscribed(store, 42, "csp")
        await store.set_trend_watch(42, "csp", True, NOW)
        assert await _alerts(store, clock).run_once() == 1
        limits = PaceLimits(global_count=10_000, private_window_s=0.0, group_count=10_000)
        async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=SendPacer(limits)) as bot:
            sender = await _sender(store, clock, TelegramSink(bot, tz=TZ))
            assert await sender.drain_once() == 1
        [sent] = tg.messages(42)
        assert sent.photo is not None
        assert sent.photo.startswith(b"\x89PNG")
        assert sent.text.startswith("📈 Strategic partnership: a spike")
        assert any(e["type"] == "bold" for e in sent.entities)
        assert [c.method for c in tg.calls if c.method.lower() == "sendphoto"] == ["sendPhoto"]
    assert await store.due_deliveries(clock.now()) == []


async def test_a_console_without_pictures_prints_the_caption(
    store: SqlStorage, tmp_path: Path
) -> None:
    import io

    clock = FakeClock(NOW)
    n = await _steady_history(store)
    await _matches(store, NOW.replace(minute=10), 12, n)
    await subscribed(store, 0, "csp")
    await store.set_trend_watch(0, "csp", True, NOW)
    assert await _alerts(store, clock).run_once() == 1
    out = io.StringIO()
    sender = await _sender(store, clock, ConsoleSink(TZ, out))
    assert await sender.drain_once() == 1
    assert "TREND" in out.getvalue()
    assert "[chart: PNG" in out.getvalue()


async def test_each_chat_reads_the_trend_alert_in_its_language(store: SqlStorage) -> None:
    """#16: a Vietnamese chat (its /settings) and an English one in London get one spike, each
    captioned in its own language, date style and time zone, as photos through the one sink."""
    clock = FakeClock(NOW)
    n = await _steady_history(store)
    await _matches(store, NOW.replace(minute=10), 12, n)
    languages = {42: Language.VI, 43: None}
    alerts = TrendAlerts(
        store,
        store,
        clock,
        lambda: {"csp": "Strategic partnership"},
        tz=TZ,
        console_url="http://h:8080",
        language_of=languages.__getitem__,
        tz_of=lambda chat: TZ if chat == 42 else ZoneInfo("Europe/London"),
    )
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as tg:
        for chat in languages:
            tg.add_chat(chat)
            await subscribed(store, chat, "csp")
            await store.set_trend_watch(chat, "csp", True, NOW)
        assert await alerts.run_once() == 2
        assert await alerts.run_once() == 0  # one spike, alerted once to each
        limits = PaceLimits(global_count=10_000, private_window_s=0.0, group_count=10_000)
        async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=SendPacer(limits)) as bot:
            sender = await _sender(store, clock, TelegramSink(bot, tz=TZ))
            assert await sender.drain_once() == 2
        [vietnamese], [english] = tg.messages(42), tg.messages(43)
    assert vietnamese.photo is not None
    lines = vietnamese.text.splitlines()
    assert lines[0] == "📈 Strategic partnership: tăng đột biến"
    assert lines[1].startswith("12 bài trong giờ bắt đầu lúc 19:00, so với khoảng ")
    assert " bài mỗi giờ trong 28 giờ trước đó (p = " in lines[1]
    assert lines[1].endswith("; tăng đột biến từ 19:00 11/07.")
    assert lines[2:] == ["Xem trên bảng điều khiển", "Tắt các cảnh báo này: /trend csp off"]
    assert vietnamese.parse_mode == "HTML"
    assert any(e["type"] == "bold" for e in vietnamese.entities)
    assert any(e["type"] == "text_link" for e in vietnamese.entities)
    assert english.text.startswith(
        "📈 Strategic partnership: a spike\n12 stories in the hour from 13:00, against about "
    )
    assert english.photo is not None
    assert vietnamese.photo != english.photo  # its chart's title and axis are Vietnamese
    assert "spiking since 11 Jul 13:00." in english.text


def test_a_vietnamese_caption_writes_decimals_with_a_comma() -> None:
    spike = Spike(NOW.replace(minute=0), NOW.replace(minute=0), 12, 1.25, 0.003)
    caption = trend_caption("csp", "Ties", spike, TZ, None, Language.VI)
    assert "so với khoảng 1,2 bài mỗi giờ" in caption.plain  # 1.25 rounds half to even
    assert "(p = 0,003)" in caption.plain
    parse_html(caption.html)  # valid Telegram HTML


def test_the_chart_draws_its_vietnamese_words_with_every_glyph() -> None:
    s = series([False, False, True])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of a glyph its font lacks
        png = trend_png("Quan hệ Đối tác", s.starts, s.judgements, "hour", language=Language.VI)
    assert png.startswith(b"\x89PNG")
    assert png != trend_png("Quan hệ Đối tác", s.starts, s.judgements, "hour")


async def test_each_zone_gets_its_chart_labelled_in_it_and_one_zone_one_drawing(
    store: SqlStorage,
) -> None:
    """Two chats in Ho Chi Minh City and one in London watch one rule: the same hours are
    judged for all, but the chart's hours are labelled in each chat's zone, so the two zones
    get two pictures and the two chats of one zone one picture, drawn once."""
    clock = FakeClock(NOW)
    n = await _steady_history(store)
    await _matches(store, NOW.replace(minute=10), 12, n)
    london = ZoneInfo("Europe/London")
    zones = {42: TZ, 43: london, 44: TZ}
    alerts = TrendAlerts(
        store,
        store,
        clock,
        lambda: {"csp": "Strategic partnership"},
        tz=TZ,
        tz_of=zones.__getitem__,
    )
    for chat in zones:
        await subscribed(store, chat, "csp")
        await store.set_trend_watch(chat, "csp", True, NOW)
    assert await alerts.run_once() == 3
    images = {d.chat_id: d.image for d in await store.due_deliveries(clock.now())}
    assert images[42] == images[44] != images[43]
    assert alerts.charts.misses == 2  # one drawing per zone
    s = await trend_series(store, "csp", NOW, 7, "hour", london)
    assert images[43] == trend_png(
        "Strategic partnership", s.starts, s.judgements, "hour", tz=london
    )


def test_the_chart_key_has_the_time_zone() -> None:
    s = series([False, True])
    london = replace(s, tz=ZoneInfo("Europe/London"))
    assert chart_key("csp", s) != chart_key("csp", london)
    assert chart_key("csp", london) == chart_key("csp", replace(s, tz=ZoneInfo("Europe/London")))
    assert s.tz == ZoneInfo("UTC")  # a series' zone by default: UTC, as the charts were


def test_a_chart_in_utc_is_the_chart_as_it_was_and_another_zone_relabels_its_hours() -> None:
    s = series([False, False, True])
    plain = trend_png("csp", s.starts, s.judgements, "hour")
    assert trend_png("csp", s.starts, s.judgements, "hour", tz=ZoneInfo("UTC")) == plain
    assert trend_png("csp", s.starts, s.judgements, "hour", tz=TZ) != plain
