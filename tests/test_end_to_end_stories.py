"""Stories end to end (issue #13): two local feeds report one event in different words; the
subscribed chat (real python-telegram-bot against the fake Bot API) gets one alert, then an edit
of that alert that adds the second source, and no second alert."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot.cli.demo import SeedArticle, load_seed_articles, rss_xml
from bot.config.settings import load_settings
from bot.runtime.app import App
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "tests" / "data" / "seeds"
USER = 5002


def _config(tmp_path: Path, feeds: dict[str, str]) -> Path:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config" / "rules", config / "rules")
    (config / "feeds.yaml").write_text(
        "feeds:\n"
        + "".join(
            f'  - url: "{url}"\n    name: {name}\n    interval: 1s\n' for name, url in feeds.items()
        ),
        encoding="utf-8",
    )
    return config


async def test_two_outlets_one_event_one_alert_then_an_edit_adding_the_source(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    seeds = {a.slug[:3]: a for a in load_seed_articles(SEEDS)}
    vna, vietnamnet = seeds["000"], seeds["001"]  # the Son-Rubio meeting, told twice
    base = feed_server.url("")
    items: dict[str, list[SeedArticle]] = {"VNA": [], "VietNamNet": []}

    def handler(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def feed(_request: web.Request) -> web.Response:
            return web.Response(
                body=rss_xml(items[name], base, name), content_type="application/rss+xml"
            )

        return feed

    urls = {name: feed_server.route(f"/{name}.xml", handler(name)) for name in items}
    async with FakeTelegramServer() as tg:
        settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'nw.db'}",
                "NEWSWATCH_CONFIG_DIR": str(_config(tmp_path, urls)),
                "NEWSWATCH_TICK_INTERVAL": "0.2",
                "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
                "NEWSWATCH_TIMEZONE": "Asia/Ho_Chi_Minh",
                "NEWSWATCH_HEALTH_ADDR": "",
            },
            env_file=None,
        )
        app = App(settings)
        await app.start()
        try:
            await tg.wait_for(
                lambda: all(feed_server.hits[f"/{n}.xml"] >= 1 for n in items), 10, "first polls"
            )
            tg.user_sends("/subscribe csp", chat_id=USER, user_id=USER)
            await tg.wait_for_messages(1, chat_id=USER, timeout=10)

            items["VNA"].append(vna)
            alert = (await tg.wait_for_messages(2, chat_id=USER, timeout=15))[1]
            assert alert.raw_text.startswith(
                f'<b><a href="{base}/articles/{vna.slug}">{vna.title}</a></b>\nVNA · '
            )
            assert "sources" not in alert.raw_text
            # The user marks it before the second source comes: the edit keeps the mark (#16).
            pressed = tg.user_presses(alert.button("Not relevant")["callback_data"], alert, USER)
            await tg.wait_for(
                lambda: any(a["callback_query_id"] == pressed for a in tg.callback_answers),
                10,
                "the press answered",
            )

            items["VietNamNet"].append(vietnamnet)
            await tg.wait_for(lambda: bool(alert.edits), 15, "the alert edited")
            edited = alert.edits[-1]
            assert edited.startswith(f'<b><a href="{base}/articles/{vna.slug}">{vna.title}')
            assert edited.endswith(
                f'📰 2 sources: <a href="{base}/articles/{vna.slug}">VNA</a>, '
                f'<a href="{base}/articles/{vietnamnet.slug}">VietNamNet</a>'
            )
            assert "✏️ updated" not in edited  # a new source is not an edit by the outlet
            assert "✔ Marked not relevant" in [b["text"] for b in alert.buttons]

            polled = feed_server.hits["/VietNamNet.xml"]
            await tg.wait_for(
                lambda: feed_server.hits["/VietNamNet.xml"] >= polled + 2, 10, "polls"
            )
            assert app.sender is not None
            await app.sender.drain_once()
            assert len(tg.messages(USER)) == 2  # the reply to /subscribe and one alert
            assert len(alert.edits) == 1
        finally:
            await app.stop()
