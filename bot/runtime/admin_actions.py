"""What the Telegram admin commands ask of the running app: add or remove a feed, reload the
rules, and a status summary. Edits ``feeds.yaml`` through ``bot.config`` (round-trip, so
comments survive), validates the result before writing, and syncs storage. Does not talk to
Telegram itself. The feed and reload replies are in the language the caller passes
(``bot.i18n.admin_messages``; English by default, as the web console gets them), and so is
the status summary.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.config.feeds_file import parse_feeds_yaml, remove_feed_entry, write_file_atomically
from bot.config.feeds_pause import set_feed_enabled_entry
from bot.i18n import text as tr
from bot.i18n.admin_messages import counted
from bot.runtime.feed_edits import add_feed
from bot.services import Services
from core.errors import ConfigError
from core.models import Language
from watchers.fetch import FeedFetcher


class AppAdminActions:
    """Implements the Telegram handlers' ``AdminActions`` over the running app's parts."""

    def __init__(
        self,
        services: Services,
        *,
        fetcher: FeedFetcher,
        reload_rules: Callable[[], Awaitable[bool]],
        reload_feeds: Callable[[], Awaitable[bool]],
        started_monotonic: float | None = None,
    ) -> None:
        self._services = services
        self._fetcher = fetcher
        self._reload_rules = reload_rules
        self._reload_feeds = reload_feeds  # applies feeds.yaml to storage (FeedsReloader)
        self._started = started_monotonic or time.monotonic()
        self._lock = asyncio.Lock()  # one feeds-file edit at a time

    async def add_feed(self, url: str, language: Language | None = None) -> str:
        settings = self._services.settings
        async with self._lock:
            result = await add_feed(
                url,
                settings.feeds_file,
                self._fetcher,
                allow_private=settings.allow_private_feed_addresses,
                default_interval_s=settings.poll_interval_s,
                language=language,
            )
            if result.ok:
                await self._reload_feeds()
        return result.message

    async def remove_feed(self, url: str, language: Language | None = None) -> str:
        path = self._services.settings.feeds_file
        async with self._lock:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            interval_s = self._services.settings.poll_interval_s
            try:
                before = parse_feeds_yaml(text, str(path), interval_s)
                new_text = remove_feed_entry(text, url)
            except ConfigError as e:
                return tr(language, "feed.remove_unreadable", file=path.name, error=e)
            if new_text is None:
                return tr(language, "feed.no_such", url=url, file=path.name)
            try:
                after = parse_feeds_yaml(new_text, str(path), interval_s)
            except ConfigError as e:
                return tr(language, "feed.remove_invalid", error=e)
            if [f.url for f in after.feeds] != [f.url for f in before.feeds if f.url != url]:
                # A guard on the editor: never write a file that lost another feed.
                return tr(language, "feed.remove_others", file=path.name)
            await asyncio.to_thread(write_file_atomically, path, new_text)
            await self._reload_feeds()
        return tr(language, "feed.removed", url=url)

    async def set_feed_enabled(
        self, url: str, enabled: bool, language: Language | None = None
    ) -> str:
        """Pause (``enabled=False``) or resume a feed: ``enabled: false`` in the feeds file,
        edited round-trip and checked like a removal, then applied by the feeds reloader."""
        path = self._services.settings.feeds_file
        async with self._lock:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            interval_s = self._services.settings.poll_interval_s
            try:
                before = parse_feeds_yaml(text, str(path), interval_s)
                new_text = set_feed_enabled_entry(text, url, enabled)
                after = parse_feeds_yaml(new_text or text, str(path), interval_s)
            except ConfigError as e:
                return tr(language, "feed.change_unreadable", file=path.name, error=e)
            if new_text is None:
                return tr(language, "feed.no_such", url=url, file=path.name)
            wanted = [replace(f, enabled=enabled) if f.url == url else f for f in before.feeds]
            if list(after.feeds) != wanted:
                # A guard on the editor: never write a file that changed anything else.
                return tr(language, "feed.change_others", file=path.name)
            if new_text != text:
                await asyncio.to_thread(write_file_atomically, path, new_text)
                await self._reload_feeds()
        return tr(language, "feed.resumed" if enabled else "feed.paused", url=url)

    async def reload_rules(self, language: Language | None = None) -> str:
        ok = await self._reload_rules()
        rules = counted(language, len(self._services.rules.current.rules), "rule")
        return tr(language, "reload.done" if ok else "reload.errors", rules=rules)

    async def status_text(self, language: Language | None = None) -> str:
        """Uptime, feeds (and the first ten with problems), rules and the outbox, in
        ``language``; feeds' names and errors as they are."""
        services = self._services
        now = services.clock.now()
        feeds = await services.storage.list_feeds()
        failing = [f for f in feeds if f.consecutive_errors > 0 or f.disabled_reason]
        pending = await services.storage.pending_count()
        uptime_min = int((time.monotonic() - self._started) // 60)
        lines = [
            tr(
                language,
                "stats.up",
                hours=uptime_min // 60,
                minutes=f"{uptime_min % 60:02d}",
                now=f"{now.astimezone(services.settings.tz):%Y-%m-%d %H:%M %Z}",
            ),
            tr(
                language,
                "stats.summary",
                feeds=counted(language, len(feeds), "feed"),
                failing=len(failing),
                rules=counted(language, len(services.rules.current.rules), "rule"),
                alerts=counted(language, pending, "alert"),
            ),
        ]
        for f in failing[:10]:
            reason = f.disabled_reason or f.last_error or tr(language, "adm.error")
            lines.append(
                tr(
                    language,
                    "stats.failing_feed",
                    feed=f.name or f.url,
                    reason=reason,
                    count=f.consecutive_errors,
                )
            )
        return "\n".join(lines)
