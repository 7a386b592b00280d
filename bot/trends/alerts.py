"""Spike alerts: when a rule's stories in the last hours stand out from its own history, the
chats that opted in (``/trend RULE on``) get one trend alert, a chart with a caption, per spike.

The statistic is ``stats``' one, applied to hours: each hour is judged against the 28 hours
before it (``stats.WINDOW``). A *spike* is a run of consecutive judged-spike hours; it is named
by its first hour, and ``TrendWatches.queue_trend`` remembers that name per chat, so a spike
that lasts five hours is alerted once, and a new spike after a quiet hour is alerted again. The
hour in progress is judged as it stands (its count only grows), so a spike is alerted as soon
as it is one rather than after its hour ends.

``current_spike`` and ``trend_caption`` are pure; ``TrendAlerts.run_once`` reads counts and
opt-ins, and queues the alerts in the outbox with one caption and one chart per language and
time zone among the chats alerted (each chat's ``/settings``: the words in ``bot.i18n``, dates
in the language's style, the chart's hours labelled in the chat's zone). The hours judged are
UTC hours, the same for every chat; a chart is drawn (matplotlib, in a worker thread) once per
spike, language and zone, and kept in a ``ChartCache`` keyed by what it draws. Does not
send anything (the outbox does) nor decide who subscribed.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import bot.i18n as i18n
from bot.i18n.forms import decimal, moment
from core.clock import Clock
from core.models import Language, RenderedMessage
from storage.console import ConsoleQueries
from storage.trends import TrendWatch, TrendWatches

from .chart_cache import ChartCache, chart_key
from .charts import trend_png
from .series import TrendSeries, trend_series
from .stats import WINDOW

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 600  # how often the last hours are judged
CHART_DAYS = 7  # the alert's chart: the last week by hour, as the trends page draws it
RECENT_HOURS = 2  # a spike counts as "now" when the hour in progress or the one before is one
MAX_CAPTION = 1024  # Telegram's limit for a photo caption (visible characters)


@dataclass(frozen=True, slots=True)
class Spike:
    """A run of spike hours ending in the last ``RECENT_HOURS``: its first hour (its name),
    its newest hour and that hour's count, baseline and tail probability."""

    started_at: datetime
    latest_at: datetime
    count: int
    expected: float
    p_value: float


def current_spike(series: TrendSeries, recent: int = RECENT_HOURS) -> Spike | None:
    """The spike going on at the end of ``series`` (an hourly one), or None."""
    judged = list(zip(series.starts, series.judgements, strict=True))
    last = len(judged) - 1
    newest = next((i for i in range(last, max(last - recent, -1), -1) if judged[i][1].spike), None)
    if newest is None:
        return None
    first = newest
    while first > 0 and judged[first - 1][1].spike:
        first -= 1
    start, j = judged[newest]
    return Spike(judged[first][0], start, j.count, j.expected, j.p_value)


def trend_caption(
    rule_id: str,
    rule_name: str,
    spike: Spike,
    tz: ZoneInfo,
    console_url: str | None = None,
    language: Language | None = None,
) -> RenderedMessage:
    """The caption of a trend alert, Telegram HTML and plain, within ``MAX_CAPTION``, in
    ``language`` (the rule's name is shown as it is)."""
    hour = spike.latest_at.astimezone(tz).strftime("%H:%M")
    since = moment(language, "date.alert_short", spike.started_at, tz)
    name = rule_name if len(rule_name) <= 200 else rule_name[:199] + "…"
    body = i18n.text(
        language,
        "trend.spike_body",
        count=spike.count,
        hour=hour,
        expected=decimal(language, spike.expected),
        window=WINDOW,
        p=decimal(language, spike.p_value, ".1g"),
        since=since,
    )
    stop = i18n.text(language, "trend.spike_stop", rule_id=rule_id)
    html_lines = [
        i18n.text(language, "trend.spike_title", name=html.escape(name)),
        html.escape(body),
    ]
    plain_lines = [i18n.text(language, "trend.spike_title_plain", name=name), body]
    if console_url:
        query = urlencode({"rule": rule_id, "days": CHART_DAYS, "by": "hour"})
        url = f"{console_url.rstrip('/')}/trends?{query}"
        label = i18n.text(language, "trend.spike_console")
        html_lines.append(f'<a href="{html.escape(url)}">{html.escape(label)}</a>')
        plain_lines.append(f"{label}: {url}")
    html_lines.append(html.escape(stop))
    plain_lines.append(stop)
    return RenderedMessage(
        "\n".join(html_lines), "\n".join(plain_lines)[:MAX_CAPTION], disable_notification=False
    )


class TrendAlerts:
    """Judges the last hours of every rule someone watches and queues one alert per spike."""

    def __init__(
        self,
        queries: ConsoleQueries,
        watches: TrendWatches,
        clock: Clock,
        rule_names: Callable[[], Mapping[str, str]],
        *,
        tz: ZoneInfo,
        console_url: str | None = None,
        on_queued: Callable[[], None] | None = None,
        language_of: Callable[[int], Language | None] = lambda _chat: None,
        tz_of: Callable[[int], ZoneInfo] | None = None,
    ) -> None:
        """``language_of`` and ``tz_of`` give a chat's language and time zone (its
        ``/settings``); by default English and ``tz`` for every chat."""
        self._queries = queries
        self._watches = watches
        self._clock = clock
        self._rule_names = rule_names
        self._tz = tz
        self._console_url = console_url
        self._on_queued = on_queued
        self._language_of = language_of
        self._tz_of = tz_of or (lambda _chat: tz)
        # A chat's chart again (one more chat on the same spike, or the next check of a chat
        # added since) is not drawn again; a few entries: one per language and zone watched.
        self.charts = ChartCache(max_entries=16)

    async def run_once(self) -> int:
        """Judge each watched rule in force; queue the alerts of new spikes. How many."""
        now = self._clock.now()
        names = self._rule_names()
        watched = sorted({w.rule_id for w in await self._watches.trend_watches()})
        queued = 0
        for rule_id in watched:
            if rule_id not in names:
                continue  # a rule removed since: nothing to judge
            queued += await self._check_rule(rule_id, names[rule_id], now)
        if queued and self._on_queued is not None:
            self._on_queued()
        return queued

    async def _check_rule(self, rule_id: str, name: str, now: datetime) -> int:
        series = await trend_series(self._queries, rule_id, now, CHART_DAYS, "hour")
        spike = current_spike(series)
        if spike is None:
            return 0
        due = [
            w
            for w in await self._watches.spike_watchers(rule_id, now)
            if w.last_spike_at != spike.started_at
        ]
        if not due:
            return 0
        # One caption and one chart per (language, time zone) among the chats alerted (the
        # chart's title and axis have words, its hours are labelled in the zone): each chat
        # reads its own.
        audiences: dict[tuple[Language | None, str], list[TrendWatch]] = defaultdict(list)
        zones: dict[str, ZoneInfo] = {}
        for watch in due:
            zone = self._tz_of(watch.chat_id)
            zones[str(zone)] = zone
            audiences[(self._language_of(watch.chat_id), str(zone))].append(watch)
        queued = 0
        for (language, zone_name), watches in audiences.items():
            png = await self._chart(name, replace(series, tz=zones[zone_name]), language)
            caption = trend_caption(
                rule_id, name, spike, zones[zone_name], self._console_url, language
            )
            queued += await self._watches.queue_trend(watches, spike.started_at, caption, png, now)
        log.info(
            "trend alert for %s: %d stories in the hour from %s; queued for %d chats",
            rule_id,
            spike.count,
            spike.latest_at.isoformat(),
            queued,
        )
        return queued

    async def _chart(self, name: str, series: TrendSeries, language: Language | None) -> bytes:
        """The chart of ``series`` titled ``name``, in ``language``, labelled in its zone."""
        key = chart_key(name, series, language)
        png = self.charts.get(key)
        if png is None:
            png = await asyncio.to_thread(
                partial(trend_png, language=language, tz=series.tz),
                name,
                series.starts,
                series.judgements,
                series.bucket,
            )
            self.charts.put(key, png)
        return png
