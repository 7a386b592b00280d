"""The trends page: per rule, stories per day (or hour) over 7, 30 or 90 days as a chart, with
the buckets that stand out from the rule's own history marked (``bot.trends.stats``), and the
chart itself as a PNG (``bot.trends.charts``, the image Telegram's ``/trend`` sends). Days are
the deployment's (``NEWSWATCH_TIMEZONE``, local midnight to midnight) and the chart is labelled
in that zone, which the page names. Read-only.
"""

from __future__ import annotations

import asyncio
from functools import partial

from aiohttp import web

from bot.trends.chart_cache import ChartCache, chart_key
from bot.trends.charts import trend_png
from bot.trends.series import TrendSeries, trend_series
from bot.trends.stats import ALPHA, WINDOW

from .render import TZ_KEY, render

PERIODS = (7, 30, 90)
CHART_CACHE_KEY = web.AppKey("chart_cache", ChartCache)


async def _series(request: web.Request) -> tuple[str, int, str, TrendSeries | None]:
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    rules = deps.services.rules.current
    rule_id = request.query.get("rule") or (rules.rules[0].id if rules.rules else "")
    days_text = request.query.get("days", "30")
    days = int(days_text) if days_text.isdigit() and int(days_text) in PERIODS else 30
    bucket = "hour" if request.query.get("by") == "hour" and days <= 7 else "day"
    if not rule_id:
        return "", days, bucket, None
    if rules.get(rule_id) is None:
        raise web.HTTPNotFound(text=f"There is no rule {rule_id!r} in force.")
    now = deps.services.clock.now()
    tz = request.app[TZ_KEY]  # the deployment's zone, as every time on the console
    series = await trend_series(deps.queries, rule_id, now, days, bucket, tz)  # type: ignore[arg-type]
    return rule_id, days, bucket, series


async def trends_page(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    rule_id, days, bucket, series = await _series(request)
    spikes = (
        [(t, j) for t, j in zip(series.starts, series.judgements, strict=True) if j.spike]
        if series
        else []
    )
    return render(
        request,
        "trends.html",
        rules=request.app[DEPS_KEY].services.rules.current.rules,
        rule_id=rule_id,
        days=days,
        bucket=bucket,
        periods=PERIODS,
        series=series,
        spikes=spikes,
        alpha=ALPHA,
        window=WINDOW,
        tz=request.app[TZ_KEY].key,
    )


async def trend_chart(request: web.Request) -> web.StreamResponse:
    rule_id, _days, bucket, series = await _series(request)
    if series is None:
        raise web.HTTPNotFound(text="No rule to chart.")
    key = chart_key(rule_id, series)
    etag = f'"{key}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}  # revalidate: data moves
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    cache = request.app[CHART_CACHE_KEY]
    png = cache.get(key)
    if png is None:
        png = await asyncio.to_thread(
            partial(trend_png, tz=series.tz),
            rule_id,
            series.starts,
            series.judgements,
            bucket,
        )
        cache.put(key, png)
    return web.Response(body=png, content_type="image/png", headers=headers)


def add_routes(app: web.Application) -> None:
    app[CHART_CACHE_KEY] = ChartCache()
    app.router.add_get("/trends", trends_page)
    app.router.add_get("/trends/chart.png", trend_chart)
