"""Admin actions (/addfeed, /removefeed, /reload, /status) and the live feeds-file reload, over
the real SqlStorage and a real feed server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config.feeds_file import load_feeds_file
from bot.config.settings import Settings
from bot.i18n.forms import Localized, localized
from bot.runtime.admin_actions import AppAdminActions
from bot.runtime.feeds_reloader import FeedsReloader
from bot.services import RuleHolder, Services
from core.clock import FakeClock
from rules import RuleSet
from storage.sql import SqlStorage
from tests.fakes.feed_server import FeedServer
from tests.support.seeds import load_seeds, rss2
from watchers.fetch import FeedFetcher

FEEDS = """\
# my feeds
defaults:
  interval: 5m
feeds:
  - url: "https://a.example/rss"   # the first one
    name: A
    tags: [vn]
  - https://b.example/feed.xml
  - url: https://c.example/atom
"""


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Services, FeedServer, FeedFetcher]]:
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text(FEEDS, encoding="utf-8")
    settings = Settings(config_dir=config, allow_private_feed_addresses=True)
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    feeds = load_feeds_file(settings.feeds_file, 300)
    clock = FakeClock()
    await storage.sync_feeds(feeds.feeds, clock.now())
    services = Services(settings, feeds, storage, RuleHolder(RuleSet.empty()), clock)
    server = FeedServer()
    await server.start()
    async with FeedFetcher(allow_private=True) as fetcher:
        yield services, server, fetcher
    await server.stop()
    await storage.close()


def _actions(services: Services, fetcher: FeedFetcher) -> AppAdminActions:
    async def no_rules_reload() -> bool:
        return True

    async def report(message: Localized) -> None:
        raise AssertionError(f"unexpected feeds-file error: {localized(message, None)}")

    return AppAdminActions(
        services,
        fetcher=fetcher,
        reload_rules=no_rules_reload,
        reload_feeds=FeedsReloader(services, report).reload_now,
    )


async def test_add_then_remove_a_feed(parts: tuple[Services, FeedServer, FeedFetcher]) -> None:
    services, server, fetcher = parts
    url = server.static("/news.xml", rss2(load_seeds(), title="Local News"))
    actions = _actions(services, fetcher)

    reply = await actions.add_feed(url)
    assert reply.startswith("Added “Local News”")
    assert "alerts start with the next new story" in reply
    assert str(services.settings.feeds_file) not in reply  # no server paths in Telegram
    assert url in {f.url for f in await services.storage.list_feeds()}
    assert url in services.settings.feeds_file.read_text(encoding="utf-8")

    bad = await actions.add_feed(server.url("/missing.xml"))
    assert bad.startswith("Could not add")
    assert bad.endswith(
        "HTTP 404 Not Found. Check the address: open it in a browser to see what the site answers."
    )
    assert len(await services.storage.list_feeds()) == 4

    reply = await actions.remove_feed(url)
    assert reply.startswith("Removed")
    assert url not in {f.url for f in await services.storage.list_feeds()}
    assert "# my feeds" in services.settings.feeds_file.read_text(encoding="utf-8")
    assert "No feed with the URL" in await actions.remove_feed(url)


async def test_status_names_the_feeds_with_problems(
    parts: tuple[Services, FeedServer, FeedFetcher],
) -> None:
    services, _server, fetcher = parts
    state = await services.storage.get_feed("https://b.example/feed.xml")
    assert state is not None
    await services.storage.save_feed_state(
        dataclasses.replace(state, consecutive_errors=3, last_error="HTTP 503")
    )
    text = await _actions(services, fetcher).status_text()
    assert "3 feeds, 1 with problems" in text
    assert "https://b.example/feed.xml: HTTP 503 (3 in a row)" in text


async def test_feeds_file_reload_applies_valid_changes_and_keeps_the_last_good(
    parts: tuple[Services, FeedServer, FeedFetcher],
) -> None:
    services, _server, _fetcher = parts
    errors: list[str] = []

    async def on_error(message: Localized) -> None:
        errors.append(localized(message, None))  # an admin notice, read in English here

    reloader = FeedsReloader(services, on_error)
    path = services.settings.feeds_file
    path.write_text("feeds:\n  - https://d.example/rss\n", encoding="utf-8")
    assert await reloader.reload_now()
    assert [f.url for f in await services.storage.list_feeds()] == ["https://d.example/rss"]

    path.write_text("feeds:\n  - url: ftp://broken\n", encoding="utf-8")
    assert not await reloader.reload_now()
    assert "feeds[1]: url must be an http" in errors[0]
    assert [f.url for f in await services.storage.list_feeds()] == ["https://d.example/rss"]


async def test_pause_and_resume_a_feed(parts: tuple[Services, FeedServer, FeedFetcher]) -> None:
    services, _server, fetcher = parts
    actions = _actions(services, fetcher)
    url = "https://b.example/feed.xml"
    assert await actions.set_feed_enabled(url, False) == (
        f"Paused {url}. Its stored articles and matches are kept."
    )
    state = await services.storage.get_feed(url)
    assert state is not None
    assert not state.enabled
    text = services.settings.feeds_file.read_text(encoding="utf-8")
    assert "# my feeds" in text
    assert "enabled: false" in text
    assert await actions.set_feed_enabled(url, True) == f"Resumed {url}."
    state = await services.storage.get_feed(url)
    assert state is not None
    assert state.enabled
    assert services.settings.feeds_file.read_text(encoding="utf-8") == FEEDS.replace(
        "  - https://b.example/feed.xml", '  - url: "https://b.example/feed.xml"'
    )
    assert "No feed with the URL" in await actions.set_feed_enabled("https://x.example/", False)
