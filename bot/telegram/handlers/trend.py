"""``/trend``: a rule's trend chart, and opting in to its spike alerts.

``/trend RULE [7|30|90]`` replies with the chart of the rule's stories per day over that many
days (30 by default), with the spike days in red: the days are the chat's (its ``/settings``
time zone, else the deployment's; midnight to midnight there) and so are the chart's dates. It
is the very PNG the console's trends page shows for the same rule and period (``bot.trends``)
when the chat's zone is the deployment's. ``/trend RULE on`` / ``/trend RULE off`` opts the
chat (in its forum topic; or a channel, ``@channel`` last, from a private chat) in to or out of
the rule's spike alerts; only subscribers get them (``bot.trends.alerts``). ``/trend`` alone
lists the chat's opt-ins. Group administrators decide for a group, as for subscriptions.

Reads counts and records opt-ins; does not judge spikes for alerts or queue them (the trend
alerts job does) and sends only through ``replies``. The texts are in the chat's language; the
chart's own labels are ``bot.trends.charts``', in the chat's language too.
"""

from __future__ import annotations

import asyncio
import inspect
from functools import partial
from typing import Protocol, cast

from telegram import Update

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import Context, chat_language, gate
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply, reply_chart
from bot.telegram.handlers.rule_lookup import find_rule, unknown_rule
from bot.telegram.handlers.targets import resolve_target
from bot.telegram.handlers.text import esc, plural
from bot.trends.charts import trend_png
from bot.trends.series import trend_series
from core.models import Language
from storage.console import ConsoleQueries
from storage.trends import TrendWatches

PERIODS = (7, 30, 90)  # as the trends page offers
DEFAULT_DAYS = 30


class TrendStore(ConsoleQueries, TrendWatches, Protocol):
    """What ``/trend`` reads and records: the console's counts and the trend opt-ins."""


def trend_store(storage: object) -> TrendStore | None:
    """``storage`` as a ``TrendStore`` when it has those queries (``SqlStorage`` does; a fake
    that lacks them does not). Looked up statically: a fake's ``__getattr__`` is not asked."""
    needed = ("match_counts", "set_trend_watch", "trend_watches")
    if all(inspect.getattr_static(storage, name, None) is not None for name in needed):
        return cast(TrendStore, storage)
    return None


class TrendCommands:
    """``/trend``."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def trend(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        store = trend_store(self.services.storage)
        if store is None:
            await reply(self.out, update, text(lang, "trend.unavailable"))
            return
        args = list(context.args or [])
        if not args:
            await self._list(update, lang, store)
            return
        rule = find_rule(self.services.rules, args[0])
        if rule is None:
            problem = unknown_rule(self.services.rules, args[0], lang)
            await usage(self.out, update, "trend", problem, lang)
            return
        if len(args) >= 2 and args[1].lower() in ("on", "off"):
            await self._opt(update, context, lang, store, rule.id, args)
            return
        if len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
            await usage(self.out, update, "trend", text(lang, "trend.bad_args"), lang)
            return
        days = int(args[1]) if len(args) == 2 else DEFAULT_DAYS
        if days not in PERIODS:
            await usage(self.out, update, "trend", text(lang, "trend.period"), lang)
            return
        now = self.services.clock.now()
        chat = update.effective_chat
        tz = self.services.settings.tz
        if chat is not None:
            tz = self.services.chat_prefs.tz(chat.id, tz)
        series = await trend_series(store, rule.id, now, days, "day", tz)
        # The same drawing as the console's chart (bot.web.trends_page), its words in the
        # chat's language, its days and dates in the chat's time zone.
        png = await asyncio.to_thread(
            partial(trend_png, language=lang, tz=series.tz),
            rule.id,
            series.starts,
            series.judgements,
            "day",
        )
        total = sum(j.count for j in series.judgements)
        spikes = sum(j.spike for j in series.judgements)
        if spikes == 1:
            stand_out = text(lang, "trend.spike")
        elif spikes:
            stand_out = text(lang, "trend.spikes", count=spikes)
        else:
            stand_out = text(lang, "trend.no_spike")
        caption = text(
            lang,
            "trend.caption",
            name=esc(rule.name),
            stories=plural(total, "story", lang),
            days=days,
            spikes=stand_out,
            rule=esc(rule.id),
        )
        await reply_chart(self.out, update, png, caption)

    async def _opt(
        self,
        update: Update,
        context: Context,
        lang: Language | None,
        store: TrendStore,
        rule_id: str,
        args: list[str],
    ) -> None:
        on = args[1].lower() == "on"
        rest = args[2:]
        target = await resolve_target(self.services, self.out, update, context, rest, "trend")
        if target is None:
            return
        if rest:
            await usage(self.out, update, "trend", text(lang, "trend.after_on_off"), lang)
            return
        now = self.services.clock.now()
        rule, label = esc(rule_id), target.label
        if on and rule_id not in await self.services.storage.subscriptions(target.chat_id):
            await reply(
                self.out, update, text(lang, "trend.subscribe_first", rule=rule, label=label)
            )
            return
        changed = await store.set_trend_watch(target.chat_id, rule_id, on, now, target.thread_id)
        if on:
            key = "trend.on" if changed else "trend.already_on"
        else:
            key = "trend.off" if changed else "trend.not_on"
        await reply(self.out, update, text(lang, key, rule=rule, label=label))

    async def _list(self, update: Update, lang: Language | None, store: TrendStore) -> None:
        chat = update.effective_chat
        watches = await store.trend_watches(chat.id) if chat is not None else []
        lines = [text(lang, "trend.list_title")]
        if watches:
            rules = ", ".join(esc(w.rule_id) for w in watches)
            lines.append(text(lang, "trend.list_on", rules=rules))
        else:
            lines.append(text(lang, "trend.list_none"))
        await reply(self.out, update, "\n".join(lines))
