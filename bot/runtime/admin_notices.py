"""What the running app tells its operators: admin notices (logged; with Telegram, queued
in the outbox as ``NOTICE`` rows, one per admin), the rules reloader's callbacks (a rejected
change; rules swapped, naming subscriptions left without their rule) and the periodic report
of failing or silent feeds. A mixin for ``App``; sends nothing itself (the outbox does).

Each admin reads a notice in the language of their chat with the bot (``/settings``): a notice
is a ``Notice``, a string (shown as it is to everyone) or a function of the language that
writes it (``bot.i18n``, area ``alert_messages``, keys ``notice.``); the log gets the English.
What a notice quotes (a rule file's error, a feed's last error, names) is not translated.
"""

from __future__ import annotations

import html
import logging
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

import bot.i18n as i18n
from bot.i18n.forms import Localized, localized
from bot.runtime import self_service
from core.errors import NewswatchError
from core.models import FeedState, Language, RenderedMessage
from watchers.feed_health import (
    HealthKind,
    HealthReport,
    feeds_to_report,
    format_duration,
    mark_reported,
)

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.ops.metrics import Metrics
    from bot.services import Services
    from core.clock import Clock
    from rules import RuleSet

log = logging.getLogger("bot.runtime.app")  # the app's log lines, wherever they are written

Notice = Localized  # as it is, or written in each admin's language
notice_text = localized


def _duration(language: Language | None, seconds: float) -> str:
    """``format_duration``'s "2d 4h" in English; "2 ngày 4 giờ" in Vietnamese."""
    shown = format_duration(seconds)
    if language is not Language.VI:
        return shown
    units = {"d": "ngày", "h": "giờ", "m": "phút", "s": "giây"}
    return " ".join(f"{part[:-1]} {units[part[-1]]}" for part in shown.split())


def feed_health_notice(report: HealthReport, state: FeedState | None, now: datetime) -> Notice:
    """The admin notice of one feed problem: ``report.message`` (``watchers.feed_health``
    writes it in English) for English, the same facts from ``state`` in another language."""
    if state is None:  # the feed is gone meanwhile: the report's words are all there is
        return report.message
    label = state.name or state.url

    def write(language: Language | None) -> str:
        if language is None or language is Language.EN:
            return report.message
        if report.kind is HealthKind.DISABLED:
            return i18n.text(
                language, "notice.feed_disabled", feed=label, reason=state.disabled_reason
            )
        if report.kind is HealthKind.FAILING:
            return i18n.text(
                language,
                "notice.feed_failing",
                feed=label,
                duration=_duration(language, (now - report.since).total_seconds()),
                errors=state.consecutive_errors,
                error=state.last_error,
            )
        quiet = (now - (state.last_new_item_at or now)).total_seconds()
        return i18n.text(
            language,
            "notice.feed_silent",
            feed=label,
            quiet=_duration(language, quiet),
            usual=_duration(language, state.avg_new_item_interval_s or 0),
        )

    return write


class AdminNotices:
    """``notify_admins``, the rules reloader's callbacks and the feed-health report, for
    ``App``."""

    settings: Settings
    clock: Clock
    services: Services | None
    metrics: Metrics

    def _wake_sender(self) -> None:
        raise NotImplementedError  # provided by SenderRole

    async def _subscribe_console_to_all(self) -> None:
        raise NotImplementedError  # provided by App

    async def notify_admins(self, text: Notice, *, logged: bool = False) -> None:
        """Tell the operators something needs attention: in the log (unless ``logged``), and with
        Telegram as a notice to each admin in their language, queued in the outbox like an alert
        (paced, recorded as "sending" before the request, kept while Telegram is unreachable).
        Never raises."""
        if not logged:  # the rules reloader logs its errors itself, one line per line
            log.warning("admin notice: %s", notice_text(text, None))
        admins = self.settings.admin_ids
        services = self.services
        if self.settings.telegram_bot_token is None or not admins or services is None:
            return
        by_language: dict[Language | None, list[int]] = defaultdict(list)
        for admin in sorted(admins):
            language = services.chat_prefs.get(admin).language
            by_language[None if language is Language.EN else language].append(admin)
        try:
            for language, chats in by_language.items():
                plain = notice_text(text, language)[:4000]
                page = RenderedMessage(
                    html.escape(plain, quote=False), plain, disable_notification=False
                )
                await services.storage.queue_notice(chats, [page], self.clock.now())
        except NewswatchError as e:
            log.error("could not queue the admin notice: %s", e)
            return
        self._wake_sender()

    async def _rules_rejected(self, message: str) -> None:
        # the reloader's error lines are quoted as they are; the heading is the admin's language
        self.metrics.errors.labels(kind="rules").inc()
        await self.notify_admins(
            lambda language: i18n.text(language, "notice.rules_rejected", details=message),
            logged=True,
        )

    async def _rules_swapped(self, new: RuleSet, old: RuleSet) -> None:
        assert self.services is not None
        log.info("rules reloaded: %d rules in force (were %d)", len(new.rules), len(old.rules))
        if self.settings.telegram_bot_token is None:
            await self._subscribe_console_to_all()
        known = {r.id for r in new.rules}
        subscribed = await self.services.storage.subscribed_rule_ids()
        missing = sorted(r for r in set(subscribed) - known if not self_service.is_personal(r))
        if missing:
            names = ", ".join(missing)
            await self.notify_admins(
                lambda language: i18n.text(language, "notice.missing_rules", rules=names)
            )

    async def _report_feed_health(self) -> None:
        """Tell admins, once per problem, about feeds that fail for a day or went silent."""
        assert self.services is not None
        storage, now = self.services.storage, self.clock.now()
        for report in feeds_to_report(await storage.list_feeds(), now):
            state = await storage.get_feed(report.url)
            await self.notify_admins(feed_health_notice(report, state, now))
            if state is not None:
                await storage.save_feed_state(mark_reported(state, now))
