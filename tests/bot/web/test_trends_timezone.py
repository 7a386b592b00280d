"""The console's trends by the deployment's day (``NEWSWATCH_TIMEZONE``), on SQLite and
PostgreSQL: a burst at 18:00 UTC is the next day in Ho Chi Minh City, the page says which zone
its days are in, and the chart is the one drawn for those days and labelled in that zone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.trends.charts import trend_png
from bot.trends.series import trend_series
from core.models import Hit, RuleMatch
from tests.bot.web.conftest import FEED, Console, make_console
from tests.support.storage_helpers import T0, make_article

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def console(database_url: str, tmp_path: Path) -> AsyncIterator[Console]:
    async for c in make_console(database_url, tmp_path, timezone="Asia/Ho_Chi_Minh"):
        yield c


async def _story(console: Console, n: int, when_days_ago: float, hour: int) -> None:
    article = make_article(n, feed_url=FEED, title=f"Vietnam protests in the East Sea, story {n}")
    when = (T0 - timedelta(days=when_days_ago)).replace(hour=hour)
    await console.store.ingest(
        article, [RuleMatch("sea", (Hit("East Sea", "title", 24, 32),))], when
    )


async def test_days_are_the_deployments_and_the_page_says_so(console: Console) -> None:
    for n in range(40):  # a steady history at 10:00 UTC (17:00 there): the same day either way
        await _story(console, n, (n % 20) + 2, hour=10)
    for n in range(40, 52):  # T0 is 2025-07-11 12:00 UTC; these are the 10th, 18:00 UTC
        await _story(console, n, 1, hour=18)
    await console.login(admin=False)
    body = await (await console.client.get("/trends?rule=sea&days=30")).text()
    assert "Times are in Asia/Ho_Chi_Minh" in body
    # 18:00 UTC on the 10th is 01:00 on the 11th there: the burst is today's, at local midnight
    assert "2025-07-11 00:00: 12 stories" in body
    series = await trend_series(console.store, "sea", T0, 30, "day", HCM)
    assert [j.count for j in series.judgements][-2:] == [0, 12]
    chart = await console.client.get("/trends/chart.png?rule=sea&days=30")
    png = await chart.read()
    assert png == trend_png("sea", series.starts, series.judgements, "day", tz=HCM)
    # in UTC the same stories are the day before's
    utc = await trend_series(console.store, "sea", T0, 30, "day")
    assert [j.count for j in utc.judgements][-2:] == [12, 0]
    hourly = await (await console.client.get("/trends/chart.png?rule=sea&days=7&by=hour")).read()
    by_hour = await trend_series(console.store, "sea", T0, 7, "hour", HCM)
    assert hourly == trend_png("sea", by_hour.starts, by_hour.judgements, "hour", tz=HCM)
    assert hourly != trend_png("sea", by_hour.starts, by_hour.judgements, "hour")  # UTC labels


def _sea_row_counts(body: str) -> tuple[int, int]:
    """The rules page's "7 days" and "30 days" of the ``sea`` rule."""
    found = re.search(
        r'<b>sea</b>.*?<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>', body, re.S
    )
    assert found is not None, body
    return int(found.group(1)), int(found.group(2))


async def test_the_rules_page_counts_the_deployments_days(
    console: Console, database_url: str, tmp_path: Path
) -> None:
    """T0 is 2025-07-11 12:00 UTC, 19:00 in Ho Chi Minh City: its last 7 days began on the 5th
    at local midnight, 17:00 UTC on the 4th. A story at 18:00 UTC on the 4th is in them there,
    and a day too early for UTC's; so is one at 18:00 UTC 30 days before T0 for the 30 days."""
    await _story(console, 1, 7, hour=18)  # 2025-07-04 18:00 UTC: the 5th, 01:00 there
    await _story(console, 2, 30, hour=18)  # 2025-06-11 18:00 UTC: the 12th, 01:00 there
    await console.login(admin=False)
    body = await (await console.client.get("/rules")).text()
    assert _sea_row_counts(body) == (1, 2)
    async for utc in make_console(database_url, tmp_path / "utc"):
        await _story(utc, 1, 7, hour=18)
        await _story(utc, 2, 30, hour=18)
        await utc.login(admin=False)
        assert _sea_row_counts(await (await utc.client.get("/rules")).text()) == (0, 1)
