"""What the Telegram admin commands ask of the running app: add or remove a feed, reload the
rules, and a status summary. Edits ``feeds.yaml`` through ``bot.config`` (round-trip, so
comments survive), validates the result before writing, and syncs storage. Does not talk to
Telegram itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.config.feeds_file import parse_feeds_yaml, remove_feed_entry, write_file_atomically
from bot.config.feeds_pause import set_feed_enabled_entry
from bot.runtime.feed_edits import add_feed
from bot.services import Services
from core.errors import ConfigError
from core.text import plural
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

    async def add_feed(self, url: str) -> str:
        settings = self._services.settings
        async with self._lock:
            result = await add_feed(
                url,
                settings.feeds_file,
                self._fetcher,
                allow_private=settings.allow_private_feed_addresses,
                default_interval_s=settings.poll_interval_s,
            )
            if result.ok:
                await self._reload_feeds()
        return result.message

    async def remove_feed(self, url: str) -> str:
        path = self._services.settings.feeds_file
        async with self._lock:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            interval_s = self._services.settings.poll_interval_s
            try:
                before = parse_feeds_yaml(text, str(path), interval_s)
                new_text = remove_feed_entry(text, url)
            except ConfigError as e:
                return f"Not removed: {path.name} cannot be read ({e})."
            if new_text is None:
                return f"No feed with the URL {url} in {path.name}. /feeds lists them."
            try:
                after = parse_feeds_yaml(new_text, str(path), interval_s)
            except ConfigError as e:
                return f"Not removed: the file would become invalid ({e})."
            if [f.url for f in after.feeds] != [f.url for f in before.feeds if f.url != url]:
                # A guard on the editor: never write a file that lost another feed.
                return f"Not removed: the edit would change other feeds in {path.name}."
            await asyncio.to_thread(write_file_atomically, path, new_text)
            await self._reload_feeds()
        return f"Removed {url}. Its stored articles and matches are kept."

    async def set_feed_enabled(self, url: str, enabled: bool) -> str:
        """Pause (``enabled=False``) or resume a feed: ``enabled: false`` in the feeds file,
        edited round-trip and checked like a removal, then applied by the feeds reloader."""
        path = self._services.settings.feeds_file
        verb = "Resumed" if enabled else "Paused"
        async with self._lock:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            interval_s = self._services.settings.poll_interval_s
            try:
                before = parse_feeds_yaml(text, str(path), interval_s)
                new_text = set_feed_enabled_entry(text, url, enabled)
                after = parse_feeds_yaml(new_text or text, str(path), interval_s)
            except ConfigError as e:
                return f"Not changed: {path.name} cannot be read or would become invalid ({e})."
            if new_text is None:
                return f"No feed with the URL {url} in {path.name}. /feeds lists them."
            wanted = [replace(f, enabled=enabled) if f.url == url else f for f in before.feeds]
            if list(after.feeds) != wanted:
                # A guard on the editor: never write a file that changed anything else.
                return f"Not changed: the edit would change other feeds in {path.name}."
            if new_text != text:
                await asyncio.to_thread(write_file_atomically, path, new_text)
                await self._reload_feeds()
        return f"{verb} {url}." + ("" if enabled else " Its stored articles and matches are kept.")

    async def reload_rules(self) -> str:
        ok = await self._reload_rules()
        count = len(self._services.rules.current.rules)
        if ok:
            return f"Rules reloaded: {plural(count, 'rule')} in force."
        return (
            "The rule files have errors (details sent to admins); "
            f"{plural(count, 'rule')} stay in force."
        )

    async def status_text(self) -> str:
        services = self._services
        now = services.clock.now()
        feeds = await services.storage.list_feeds()
        failing = [f for f in feeds if f.consecutive_errors > 0 or f.disabled_reason]
        pending = await services.storage.pending_count()
        uptime_min = int((time.monotonic() - self._started) // 60)
        lines = [
            f"Up {uptime_min // 60}h{uptime_min % 60:02d}m at "
            f"{now.astimezone(services.settings.tz):%Y-%m-%d %H:%M %Z}.",
            f"{plural(len(feeds), 'feed')}, {len(failing)} with problems; "
            f"{plural(len(services.rules.current.rules), 'rule')}; "
            f"{plural(pending, 'alert')} waiting to be sent.",
        ]
        for f in failing[:10]:
            reason = f.disabled_reason or f.last_error or "error"
            lines.append(f"• {f.name or f.url}: {reason} ({f.consecutive_errors} in a row)")
        return "\n".join(lines)
