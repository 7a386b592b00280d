"""A console over a real ``SqlStorage`` (SQLite, then PostgreSQL), a rules folder in a temp
directory with a real ``RuleReloader``, fake feed actions, and an aiohttp test client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config.feeds_file import FeedsConfig
from bot.config.rule_files import load_rules_dir
from bot.config.settings import Settings
from bot.runtime.rules_reloader import RuleReloader
from bot.services import RuleHolder, Services
from bot.web import ConsoleDeps, mount_console
from bot.web.auth import console_signing_key
from core.clock import FakeClock
from core.models import FeedConfig
from storage import SqlStorage
from tests.support.storage_helpers import T0

RULES = """aliases:
  sea: ["East Sea", "South China Sea"]
rules:
  - id: sea
    name: East Sea
    query: '@sea AND NOT football'
  - id: csp
    name: Comprehensive Strategic Partnership
    query: '"strategic partnership"'
"""
FEED = "http://127.0.0.1/feed.xml"


@dataclass
class FakeFeedActions:
    """Adds any URL that ends in .xml; refuses others as "not a feed"."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    paused: dict[str, bool] = field(default_factory=dict)  # url -> enabled, as last set

    async def add_feed(self, url: str) -> str:
        if not url.endswith(".xml"):
            return f"cannot add {url}: not a feed (an HTML page with no feed link)"
        self.added.append(url)
        return f"added {url!r}: 3 items, {url} -> config/feeds.yaml"

    async def remove_feed(self, url: str) -> str:
        self.removed.append(url)
        return f"Removed {url}. Its stored articles and matches are kept."

    async def set_feed_enabled(self, url: str, enabled: bool) -> str:
        self.paused[url] = enabled
        return f"{'Resumed' if enabled else 'Paused'} {url}."


@dataclass
class Console:
    client: TestClient[web.Request, web.Application]
    deps: ConsoleDeps
    store: SqlStorage
    clock: FakeClock
    rules_dir: Path
    feeds: FakeFeedActions

    async def login(self, admin: bool = True, user_id: int = 42) -> str:
        """Log in through a one-time link; returns the session's CSRF token."""
        token = self.deps.links.issue(user_id, admin)
        page = await self.client.get(f"/login/{token}")
        assert page.status == 200
        done = await self.client.post(f"/login/{token}", allow_redirects=False)
        assert done.status == 303
        return await self.csrf()

    async def csrf(self) -> str:
        body = await (await self.client.get("/rules")).text()
        found = re.search(r'name="csrf-token" content="([^"]*)"', body)
        assert found is not None
        return found.group(1)


async def make_console(
    database_url: str, tmp_path: Path, timezone: str = "UTC"
) -> AsyncIterator[Console]:
    """The console; ``timezone`` is the deployment's (``NEWSWATCH_TIMEZONE``)."""
    rules_dir = tmp_path / "config" / "rules"
    rules_dir.mkdir(parents=True)
    (rules_dir / "main.yaml").write_text(RULES, encoding="utf-8")
    settings = Settings(config_dir=tmp_path / "config", extra={}, timezone=timezone)
    store = SqlStorage(database_url)
    await store.open()
    clock = FakeClock(T0)
    await store.sync_feeds([FeedConfig(url=FEED, name="Example News", tags=("asia",))], T0)
    holder = RuleHolder(load_rules_dir(rules_dir))

    async def on_error(message: str) -> None:
        return None

    reloader = RuleReloader(rules_dir, holder, on_error=on_error)
    services = Services(settings, FeedsConfig(300.0, ()), store, holder, clock)
    feeds = FakeFeedActions()
    key = await console_signing_key(None, store)  # as every replica gets it
    deps = ConsoleDeps(
        services,
        store,
        reloader.reload_now,
        feeds,
        web_token="env-secret",
        secret=key,
        live_poll_s=0.05,
    )
    deps.links.share(key, store)
    app = web.Application()
    mount_console(app, deps)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Console(client, deps, store, clock, rules_dir, feeds)
    finally:
        await client.close()
        await store.close()


@pytest.fixture
async def console(database_url: str, tmp_path: Path) -> AsyncIterator[Console]:
    async for c in make_console(database_url, tmp_path):
        yield c
