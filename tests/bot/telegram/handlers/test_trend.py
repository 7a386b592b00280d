"""/trend: the chart (the console's very PNG), and opting in to and out of spike alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.trends.charts import trend_png
from bot.trends.series import trend_series
from core.models import ChatSettings, Language
from storage.sql import SqlStorage
from tests.bot.telegram.harness import OTHER, USER, RunningBot, running_bot, seed
from tests.support.storage_helpers import make_article, match


def _sql(tmp_path: Path) -> SqlStorage:
    return SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")


async def test_the_chart_is_the_consoles_png(tmp_path: Path) -> None:
    async with running_bot(storage=_sql(tmp_path)) as rb:
        await seed(rb)
        sent = await rb.ask("/trend csp")
        assert sent.photo is not None
        # the chat has no zone of its own: the deployment's (the harness's Asia/Ho_Chi_Minh)
        tz = rb.services.settings.tz
        series = await trend_series(rb.storage, "csp", rb.clock.now(), 30, "day", tz)
        assert sent.photo == trend_png("csp", series.starts, series.judgements, "day", tz=tz)
        assert sent.text.startswith("📊 Comprehensive Strategic Partnership: 1 story in 30 days")
        assert (await rb.ask("/trend csp 7")).photo is not None
        assert "7, 30 or 90" in (await rb.ask("/trend csp 12")).text
        assert "no rule called" in (await rb.ask("/trend nope")).text
        assert "Usage: /trend" in (await rb.ask("/trend csp soon")).text


async def test_opting_in_needs_a_subscription_and_can_be_undone(tmp_path: Path) -> None:
    async with running_bot(storage=_sql(tmp_path)) as rb:
        assert "first /subscribe csp" in (await rb.ask("/trend csp on")).text
        await rb.ask("/subscribe csp")
        assert "are on for this chat" in (await rb.ask("/trend csp on")).text
        assert "were already on" in (await rb.ask("/trend csp on")).text
        assert [w.rule_id for w in await rb.storage.trend_watches(USER)] == ["csp"]
        assert "Spike alerts on here for: csp" in (await rb.ask("/trend")).text
        assert "are off" in (await rb.ask("/trend csp off")).text
        assert "were not on" in (await rb.ask("/trend csp off")).text
        assert await rb.storage.trend_watches(USER) == []


async def test_a_storage_without_trends_says_so(rb: RunningBot) -> None:
    reply = (await rb.ask("/trend csp")).text
    if isinstance(rb.storage, SqlStorage):
        assert reply.startswith("📊")
    else:
        assert reply == "Trends are not available with this storage."


async def test_the_chart_counts_the_chats_own_days(tmp_path: Path) -> None:
    """A chat in Ho Chi Minh City (its /settings) counts stories at 18:00 UTC on the next
    local day (01:00 there); a chat in UTC counts them on the UTC day. Each gets the chart of
    its own days, labelled in its own zone."""
    async with running_bot(storage=_sql(tmp_path)) as rb:
        hcm, utc = ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("UTC")
        yesterday = rb.clock.now() - timedelta(days=1)  # the clock is at 12:00 UTC
        times = [yesterday.replace(hour=16)] * 2 + [yesterday.replace(hour=18)] * 3
        for i, when in enumerate(times):
            await rb.storage.ingest(make_article(i), [match("csp")], when, alert=False)
        await rb.ask("/settings tz Asia/Ho_Chi_Minh")
        await rb.ask("/settings tz UTC", chat_id=OTHER)
        local = await trend_series(rb.storage, "csp", rb.clock.now(), 7, "day", hcm)
        assert [j.count for j in local.judgements][-2:] == [2, 3]  # 23:00 and 01:00 there
        by_utc = await trend_series(rb.storage, "csp", rb.clock.now(), 7, "day", utc)
        assert [j.count for j in by_utc.judgements][-2:] == [5, 0]
        mine = await rb.ask("/trend csp 7")
        theirs = await rb.ask("/trend csp 7", chat_id=OTHER)
        assert mine.photo == trend_png(
            "csp", local.starts, local.judgements, "day", tz=hcm, language=None
        )
        assert theirs.photo == trend_png("csp", by_utc.starts, by_utc.judgements, "day", tz=utc)
        assert mine.photo != theirs.photo
        assert mine.text.startswith("📊 Comprehensive Strategic Partnership: 5 stories in 7 days")


async def test_a_vietnamese_chat_gets_the_chart_in_its_language_and_zone(tmp_path: Path) -> None:
    async with running_bot(storage=_sql(tmp_path)) as rb:
        await seed(rb)
        zone = ZoneInfo("Europe/Berlin")
        rb.services.chat_prefs.put(USER, ChatSettings(timezone=str(zone), language=Language.VI))
        sent = await rb.ask("/trend csp 7")
        s = await trend_series(rb.storage, "csp", rb.clock.now(), 7, "day", zone)
        assert sent.photo == trend_png(
            "csp", s.starts, s.judgements, "day", tz=zone, language=Language.VI
        )
        assert sent.photo != trend_png("csp", s.starts, s.judgements, "day", tz=zone)
