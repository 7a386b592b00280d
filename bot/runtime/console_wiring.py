"""The web console's and the trend alerts' wiring for ``App``: a mixin, kept apart so that the
application's lifecycle (``bot/runtime/app.py``) stays readable.

Builds the console's dependencies (storage's console queries, the rules reloader, the same feed
actions as ``/addfeed``, this app's login links), the spike-alerts job and the one-time login
links for ``/web``. Starts nothing itself: ``App`` mounts the console and schedules the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.runtime.admin_actions import AppAdminActions
from bot.services import Services
from bot.trends.alerts import TrendAlerts
from bot.web import ConsoleDeps, LoginLinks
from bot.web.auth import console_signing_key
from storage.sql import SqlStorage

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.runtime.feeds_reloader import FeedsReloader
    from bot.runtime.rules_reloader import RuleReloader
    from core.clock import Clock
    from watchers.fetch import FeedFetcher


class ConsoleRole:
    """The parts of ``App`` that serve the web console and the spike alerts."""

    settings: Settings
    clock: Clock
    reloader: RuleReloader | None
    feeds_reloader: FeedsReloader | None
    _fetcher: FeedFetcher | None
    login_links: LoginLinks

    def _wake_sender(self) -> None:
        raise NotImplementedError  # provided by SenderRole

    def _console_enabled(self) -> bool:
        return self.settings.extra.get("NEWSWATCH_WEB", "on").strip().lower() not in (
            "off",
            "0",
            "false",
            "no",
        )

    async def _share_console_key(self, services: Services) -> bytes:
        """The console's signing key (``NEWSWATCH_WEB_SECRET``, else the one every replica
        shares through the database), now also signing this app's login links."""
        assert isinstance(services.storage, SqlStorage)
        secret = self.settings.extra.get("NEWSWATCH_WEB_SECRET") or None
        key = await console_signing_key(secret, services.storage)
        self.login_links.share(key, services.storage)
        return key

    def _console_deps(self, services: Services, key: bytes) -> ConsoleDeps:
        """The web console's parts: storage's console queries, the rules reloader, the same
        feed actions as /addfeed and /removefeed, this app's login links and the signing
        key."""
        assert self.reloader is not None
        assert self.feeds_reloader is not None
        assert self._fetcher is not None
        assert isinstance(services.storage, SqlStorage)
        extra = self.settings.extra
        actions = AppAdminActions(
            services,
            fetcher=self._fetcher,
            reload_rules=self.reloader.reload_now,
            reload_feeds=self.feeds_reloader.reload_now,
        )
        return ConsoleDeps(
            services,
            services.storage,
            self.reloader.reload_now,
            actions,
            self.login_links,
            web_token=extra.get("NEWSWATCH_WEB_TOKEN") or None,
            secret=key,
        )

    def _make_trend_alerts(self, services: Services, storage: SqlStorage) -> TrendAlerts:
        """The spike alerts job's parts: storage's counts and opt-ins, the rules in force."""
        console = self._console_enabled() and bool(self.settings.health_addr)
        url = self.settings.extra.get("NEWSWATCH_WEB_URL") or f"http://{self.settings.health_addr}"
        return TrendAlerts(
            storage,
            storage,
            self.clock,
            lambda: {r.id: r.name for r in services.rules.current.rules},
            tz=self.settings.tz,
            console_url=url if console else None,
            on_queued=self._wake_sender,
            # each chat's /settings: the caption's language and time zone
            language_of=lambda chat_id: services.chat_prefs.get(chat_id).language,
            tz_of=lambda chat_id: services.chat_prefs.tz(chat_id, self.settings.tz),
        )

    def login_link(self, user_id: int, admin: bool) -> str | None:
        """A one-time console link for ``/web`` (None when the console is not served)."""
        if not self._console_enabled() or not self.settings.health_addr:
            return None
        base = self.settings.extra.get("NEWSWATCH_WEB_URL") or f"http://{self.settings.health_addr}"
        return f"{base.rstrip('/')}/login/{self.login_links.issue(user_id, admin)}"
