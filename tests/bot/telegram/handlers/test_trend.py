"""/trend: the chart (the console's very PNG), and opting in to and out of spike alerts."""

from __future__ import annotations

from pathlib import Path

from bot.trends.charts import trend_png
from bot.trends.series import trend_series
from storage.sql import SqlStorage
from tests.bot.telegram.harness import USER, RunningBot, running_bot, seed


def _sql(tmp_path: Path) -> SqlStorage:
    return SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")


async def test_the_chart_is_the_consoles_png(tmp_path: Path) -> None:
    async with running_bot(storage=_sql(tmp_path)) as rb:
        await seed(rb)
        sent = await rb.ask("/trend csp")
        assert sent.photo is not None
        series = await trend_series(rb.storage, "csp", rb.clock.now(), 30, "day")
        assert sent.photo == trend_png("csp", series.starts, series.judgements, "day")
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
