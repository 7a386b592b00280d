"""``newswatch run`` serves the console: the App started with a health address on 127.0.0.1
answers ``/`` with the login redirect, and ``/web`` in Telegram hands out a link that logs in
(once). The same App as ``tests/test_end_to_end.py``, with the fake Bot API."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import aiohttp

from bot.cli.demo import rss_xml
from bot.config.settings import load_settings
from bot.runtime.app import App
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer

ROOT = Path(__file__).resolve().parents[3]
USER, ADMIN, GROUP = 5001, 7007, -4001


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, feed_url: str) -> Path:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config" / "rules", config / "rules")
    (config / "feeds.yaml").write_text(
        f'feeds:\n  - url: "{feed_url}"\n    name: Seed News\n', encoding="utf-8"
    )
    return config


async def test_run_serves_the_console_and_web_hands_out_a_one_time_link(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_url = feed_server.static("/feed.xml", rss_xml([], feed_server.url(""), "Seed News"))
    addr = f"127.0.0.1:{_free_port()}"
    async with FakeTelegramServer() as tg:
        settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'nw.db'}",
                "NEWSWATCH_CONFIG_DIR": str(_config(tmp_path, feed_url)),
                "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
                "NEWSWATCH_HEALTH_ADDR": addr,
                "ADMIN_IDS": str(ADMIN),
            },
            env_file=None,
        )
        app = App(settings)
        await app.start()
        try:
            # unsafe: keep cookies of an IP address host (aiohttp drops them by default)
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                async with http.get(f"http://{addr}/", allow_redirects=False) as page:
                    assert page.status == 303
                    assert page.headers["Location"] == "/login"
                async with http.get(f"http://{addr}/healthz") as health:
                    assert health.status == 200

                tg.user_sends("/web", chat_id=GROUP, user_id=USER, chat_type="group")
                [refusal] = await tg.wait_for_messages(1, chat_id=GROUP, timeout=10)
                assert refusal.text.startswith("Send /web to me in a private chat")

                tg.user_sends("/web", chat_id=ADMIN, user_id=ADMIN)
                [reply] = await tg.wait_for_messages(1, chat_id=ADMIN, timeout=10)
                assert reply.text.startswith("Your console login link (works once")
                found = re.search(r"http://\S+/login/\S+", reply.text)
                assert found is not None
                link = found.group(0)
                assert link.startswith(f"http://{addr}/login/")
                async with http.get(link) as confirm:
                    assert confirm.status == 200
                    body = await confirm.text()
                csrf = re.search(r'name="csrf"[^>]*value="([^"]*)"', body)
                data = {"csrf": csrf.group(1)} if csrf else {}
                headers = {"Origin": f"http://{addr}"}
                async with http.post(
                    link, data=data, headers=headers, allow_redirects=False
                ) as done:
                    assert done.status == 303
                async with http.get(f"http://{addr}/", allow_redirects=False) as home:
                    assert home.status == 200
                async with (
                    aiohttp.ClientSession() as other,
                    other.post(link, data=data, headers=headers, allow_redirects=False) as again,
                ):
                    assert again.status != 303  # the link works once
        finally:
            await app.stop()
