"""Watches ``feeds.yaml`` and applies a saved change while the bot runs.

A valid file is synced into storage (new feeds are polled at once, removed ones stop); an
invalid one is reported with its exact error and the feeds in force stay as they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import watchfiles

from bot.config.feeds_file import load_feeds_file
from bot.i18n import text
from bot.i18n.forms import Localized
from bot.services import Services
from core.errors import ConfigError

log = logging.getLogger(__name__)


class FeedsReloader:
    """Runs until cancelled; ``reload_now()`` applies the file on demand."""

    def __init__(
        self,
        services: Services,
        on_error: Callable[[Localized], Awaitable[None]],
        debounce_ms: int = 300,
    ) -> None:
        self._services = services
        self._on_error = on_error
        self._debounce_ms = debounce_ms

    async def reload_now(self) -> bool:
        settings = self._services.settings
        try:
            feeds = await asyncio.to_thread(
                load_feeds_file, settings.feeds_file, settings.poll_interval_s
            )
        except ConfigError as e:
            error = str(e)  # quoted as it is; the heading in each admin's language
            await self._on_error(
                lambda language: text(language, "notice.feeds_rejected", details=error)
            )
            return False
        if feeds == self._services.feeds:
            return True
        self._services.feeds = feeds
        await self._services.storage.sync_feeds(feeds.feeds, self._services.clock.now())
        log.info("feeds reloaded: %d feeds", len(feeds.feeds))
        return True

    async def run(self) -> None:
        path = self._services.settings.feeds_file
        # Watch the folder, not the file: editors replace files by renaming over them.
        async for changes in watchfiles.awatch(
            path.parent,
            watch_filter=lambda _change, changed: changed.endswith(path.name),
            debounce=self._debounce_ms,
            recursive=False,
        ):
            if changes:
                await self.reload_now()
