"""The whole path, for real: a local RSS feed -> the app -> the fake Telegram Bot API.

The real python-telegram-bot talks HTTP to FakeTelegramServer through ``base_url``; a simulated
user subscribes by typing ``/subscribe`` (delivered through ``getUpdates``); the test checks the
exact alert that arrives, and that polling the same feed again sends nothing more.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli.demo import SeedArticle, load_seed_articles, rss_xml
from bot.config.settings import Settings, load_settings
from bot.runtime.app import App
from core.models import Chat, ChatType
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "tests" / "data" / "seeds"
USER = 5001


def _config(tmp_path: Path, feed_url: str) -> Path:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config" / "rules", config / "rules")
    (config / "feeds.yaml").write_text(
        f'feeds:\n  - url: "{feed_url}"\n    name: Seed News\n    interval: 1s\n',
        encoding="utf-8",
    )
    return config


def _settings(tmp_path: Path, config: Path, api_base_url: str, **extra: str) -> Settings:
    """The settings every test here starts the App with: SQLite in ``tmp_path``, the config
    folder ``config`` (``_config``), no health server; ``extra`` adds or overrides variables."""
    return load_settings(
        {
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_BASE_URL": api_base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'nw.db'}",
            "NEWSWATCH_CONFIG_DIR": str(config),
            "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
            "NEWSWATCH_HEALTH_ADDR": "",
            **extra,
        },
        env_file=None,
    )


def _live_feed(feed_server: FeedServer, items: list[SeedArticle]) -> str:
    """Serve ``items`` as an RSS feed, read afresh on every request (append to publish)."""
    base = feed_server.url("")

    async def feed(_request: web.Request) -> web.Response:
        return web.Response(
            body=rss_xml(items, base, "Seed News"), content_type="application/rss+xml"
        )

    return feed_server.route("/feed.xml", feed)


async def test_subscribed_user_gets_the_exact_alert_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    seeds = {a.slug: a for a in load_seed_articles(SEEDS)}
    old = SeedArticle(
        "old-story",
        "An older story about the weather",
        "Rain in Hanoi.",
        datetime(2025, 7, 10, 6, 0, tzinfo=UTC),
    )
    fresh = seeds["000_ff0bfc72080d8a84"]
    items: list[SeedArticle] = [old]
    base = feed_server.url("")
    feed_url = _live_feed(feed_server, items)
    async with FakeTelegramServer() as tg:
        settings = _settings(
            tmp_path,
            _config(tmp_path, feed_url),
            tg.base_url,
            NEWSWATCH_TICK_INTERVAL="0.2",
            NEWSWATCH_TIMEZONE="Asia/Ho_Chi_Minh",
        )
        app = App(settings)
        await app.start()
        try:
            # The first poll records what the feed already has, without alerting.
            await tg.wait_for(lambda: feed_server.hits["/feed.xml"] >= 1, 10, "first poll")
            tg.user_sends("/subscribe csp", chat_id=USER, user_id=USER)
            (reply,) = await tg.wait_for_messages(1, chat_id=USER, timeout=10)
            assert reply.text == "✅ Subscribed this chat to Comprehensive Strategic Partnership."

            items.append(fresh)  # a new story that the rule "csp" matches
            alerts = await tg.wait_for_messages(2, chat_id=USER, timeout=15)
            alert = alerts[1]
            assert alert.parse_mode == "HTML"
            assert alert.raw_text == EXPECTED_ALERT_HTML.format(base=base)
            assert alert.disable_notification is False  # "csp" is a high-priority rule

            # Two more polls of the unchanged feed: nothing more is sent.
            polled = feed_server.hits["/feed.xml"]
            await tg.wait_for(lambda: feed_server.hits["/feed.xml"] >= polled + 2, 10, "2 polls")
            assert app.sender is not None
            await app.sender.drain_once()
            assert len(tg.messages(USER)) == 2
        finally:
            await app.stop()


EXPECTED_ALERT_HTML = (
    '<b><a href="{base}/articles/000_ff0bfc72080d8a84">Vietnamese Deputy PM, FM meets with US, EC, '
    "UK officials in Malaysia</a></b>\n"
    "Seed News · 11 Jul 2025 15:00 +07\n"
    "❗ #csp\n"
    "They reviewed extraordinary strides made in various areas over the past three decades, "
    "especially since the upgrade of the bilateral relations to a <b>Comprehensive Strategic "
    "Partnership</b> in 2023. Vietnamese Deputy Prime Minister and Minister of Foreign Affairs "
    "Bui Thanh Son (L) and US Secretary of State Marco Rubio.\n"
    '<a href="{base}/articles/000_ff0bfc72080d8a84">{base}/articles/000_ff0bfc72080d8a84</a>'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_telegram_down_at_start_delays_alerts_and_loses_none(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    seeds = load_seed_articles(SEEDS)
    items: list[SeedArticle] = []
    feed_url = _live_feed(feed_server, items)
    port = _free_port()
    config = _config(tmp_path, feed_url)
    settings = _settings(
        tmp_path, config, f"http://127.0.0.1:{port}/bot", NEWSWATCH_TICK_INTERVAL="0.2"
    )
    app = App(settings)
    await app.start()  # Telegram is down: the bot starts anyway and keeps polling
    try:
        assert app.services is not None
        await app.services.storage.upsert_chat(Chat(id=USER, type=ChatType.PRIVATE))
        await app.services.storage.subscribe(USER, "csp")
        for _ in range(100):  # bounded: the first poll records the (empty) feed
            if feed_server.hits["/feed.xml"] >= 1:
                break
            await asyncio.sleep(0.1)
        items.append(seeds[0])
        for _ in range(100):  # bounded: the story is stored and its alert queued, not sent
            if await app.services.storage.pending_count() == 1:
                break
            await asyncio.sleep(0.1)
        assert await app.services.storage.pending_count() == 1
        async with FakeTelegramServer(port=port) as tg:  # Telegram comes back
            tg.add_chat(USER)
            (alert,) = await tg.wait_for_messages(1, chat_id=USER, timeout=20)
            assert "Comprehensive Strategic Partnership" in alert.text
            for _ in range(50):  # bounded: marked sent right after Telegram accepted it
                if await app.services.storage.pending_count() == 0:
                    break
                await asyncio.sleep(0.1)
            assert await app.services.storage.pending_count() == 0
            await app.stop()
    finally:
        await app.stop()


async def test_an_admin_notice_goes_through_the_outbox(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A rule file broken on disk: the admin hears of it, as an outbox row (kind NOTICE) sent
    by the one sender, paced like an alert; the previous rules stay in force."""
    admin = 7007
    feed_url = feed_server.static("/feed.xml", rss_xml([], feed_server.url(""), "Seed News"))
    config = _config(tmp_path, feed_url)
    async with FakeTelegramServer() as tg:
        tg.add_chat(admin)
        settings = _settings(tmp_path, config, tg.base_url, ADMIN_IDS=str(admin))
        app = App(settings)
        await app.start()
        try:
            assert app.services is not None
            rules_before = len(app.services.rules.current.rules)
            (config / "rules" / "broken.yaml").write_text(
                "rules:\n  - id: bad\n    query: '\"unclosed'\n", encoding="utf-8"
            )
            assert app.reloader is not None
            await app.reloader.reload_now()  # what the folder watcher does on the change
            (notice,) = await tg.wait_for_messages(1, chat_id=admin, timeout=20)
            assert notice.text.startswith("Rule change rejected")
            assert "broken.yaml" in notice.text
            assert len(app.services.rules.current.rules) == rules_before
            for _ in range(50):  # bounded: marked sent right after Telegram accepted it
                if await app.services.storage.pending_count(admin) == 0:
                    break
                await asyncio.sleep(0.1)
            assert await app.services.storage.pending_count(admin) == 0
            # it went through the outbox, not straight to the Bot API
            [call] = [
                c for c in tg.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(admin)
            ]
            assert call.status == 200
        finally:
            await app.stop()


async def test_a_rule_saved_from_the_chat_alerts_through_the_pipeline(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # #16: /watch -> Save as rule -> the running pipeline matches it and alerts this chat only;
    # the feed's first poll says once, in the log, that it recorded what the feed had.
    seeds = {a.slug: a for a in load_seed_articles(SEEDS)}
    old = SeedArticle(
        "old-story",
        "The weather",
        "Rain in Hanoi.",
        datetime.now(UTC) - timedelta(days=1),
    )
    fresh = seeds["000_ff0bfc72080d8a84"]  # names Marco Rubio
    items: list[SeedArticle] = [old]
    feed_url = _live_feed(feed_server, items)
    caplog.set_level("INFO", logger="bot.runtime.pipeline")
    async with FakeTelegramServer() as tg:
        settings = _settings(
            tmp_path, _config(tmp_path, feed_url), tg.base_url, NEWSWATCH_TICK_INTERVAL="0.2"
        )
        app = App(settings)
        await app.start()
        try:
            await tg.wait_for(lambda: feed_server.hits["/feed.xml"] >= 1, 10, "first poll")
            tg.user_sends("/watch Rubio", chat_id=USER, user_id=USER)
            (preview,) = await tg.wait_for_messages(1, chat_id=USER, timeout=10)
            assert "would have matched 0 stories in the last 30 days (1 story searched)" in (
                preview.text
            )
            query_id = tg.user_presses(
                preview.button("Save as rule")["callback_data"], preview, USER
            )
            await tg.wait_for(
                lambda: any(a["callback_query_id"] == query_id for a in tg.callback_answers),
                10,
                "saved",
            )
            assert preview.text.startswith("✅ Saved as rule 1 of this chat (u5001-1)")

            items.append(fresh)
            alerts = await tg.wait_for_messages(2, chat_id=USER, timeout=15)
            alert = alerts[1]
            assert "Vietnamese Deputy PM, FM meets with US" in alert.text
            assert "<b>Rubio</b>" in alert.raw_text
            assert alert.button("Not relevant")["callback_data"].startswith("al:nr:")
            polled = feed_server.hits["/feed.xml"]
            await tg.wait_for(lambda: feed_server.hits["/feed.xml"] >= polled + 2, 10, "2 polls")
            assert len(tg.messages(USER)) == 2
        finally:
            await app.stop()
    first_poll = [r.getMessage() for r in caplog.records if "first poll:" in r.getMessage()]
    assert first_poll == [
        "first poll: 1 existing item recorded; alerts start with the next new story "
        "(NEWSWATCH_ALERT_ON_FIRST_POLL=true alerts on them too)"
    ]
