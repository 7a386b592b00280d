"""What the running app tells its operators: admin notices (logged; with Telegram, queued
in the outbox as ``NOTICE`` rows, one per admin), the rules reloader's callbacks (a rejected
change; rules swapped, naming subscriptions left without their rule) and the periodic report
of failing or silent feeds. A mixin for ``App``; sends nothing itself (the outbox does).
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from bot.runtime import self_service
from core.errors import NewswatchError
from core.models import RenderedMessage
from watchers.feed_health import feeds_to_report, mark_reported

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.ops.metrics import Metrics
    from bot.services import Services
    from core.clock import Clock
    from rules import RuleSet

log = logging.getLogger("bot.runtime.app")  # the app's log lines, wherever they are written


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

    async def notify_admins(self, text: str, *, logged: bool = False) -> None:
        """Tell the operators something needs attention: in the log (unless ``logged``), and with
        Telegram as a notice to each admin, queued in the outbox like an alert (paced, recorded as
        "sending" before the request, kept while Telegram is unreachable). Never raises."""
        if not logged:  # the rules reloader logs its errors itself, one line per line
            log.warning("admin notice: %s", text)
        admins = self.settings.admin_ids
        if self.settings.telegram_bot_token is None or not admins or self.services is None:
            return
        plain = text[:4000]
        page = RenderedMessage(html.escape(plain, quote=False), plain, disable_notification=False)
        try:
            await self.services.storage.queue_notice(sorted(admins), [page], self.clock.now())
        except NewswatchError as e:
            log.error("could not queue the admin notice: %s", e)
            return
        self._wake_sender()

    async def _rules_rejected(self, message: str) -> None:
        self.metrics.errors.labels(kind="rules").inc()
        await self.notify_admins(
            f"Rule change rejected; the previous rules stay in force.\n{message}", logged=True
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
            await self.notify_admins(
                "Chats are subscribed to rules that no longer exist (the subscriptions are "
                "kept and resume if the rules come back): " + ", ".join(missing)
            )

    async def _report_feed_health(self) -> None:
        """Tell admins, once per problem, about feeds that fail for a day or went silent."""
        assert self.services is not None
        storage, now = self.services.storage, self.clock.now()
        for report in feeds_to_report(await storage.list_feeds(), now):
            await self.notify_admins(report.message)
            state = await storage.get_feed(report.url)
            if state is not None:
                await storage.save_feed_state(mark_reported(state, now))
