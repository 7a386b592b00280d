"""``newswatch demo``: the whole path, offline, on the seed articles.

Serves the seed articles (and one control story that no shipped rule should match) as an RSS
feed on 127.0.0.1, runs one real polling cycle with the shipped rules against a throw-away
SQLite database, prints every alert to the console, then a one-line verdict per article.
Needs no network and no token. Does not touch ./data or the real configuration.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

from aiohttp import web

from bot.config.settings import Settings
from bot.delivery.console_sink import ConsoleSink
from bot.delivery.sink import SendOutcome, SendStatus
from bot.runtime.app import App
from core.models import Delivery, RenderedMessage, RuleInfo

DEFAULT_SEEDS = Path(__file__).resolve().parents[2] / "tests" / "data" / "seeds"
CONTROL_STORY = (
    "Ecuador celebrates its National Day with a parade in Quito",
    "State President Luong Cuong sent a congratulatory message to President of the Republic of "
    "Ecuador Daniel Noboa on the occasion of the 216th National Day of the South American "
    "country (August 10). Crowds gathered for the parade and the fireworks in the capital.",
)


@dataclass(frozen=True, slots=True)
class SeedArticle:
    """One article of the demo feed."""

    slug: str
    title: str
    body: str
    published: datetime


class _RecordingSink:
    """Prints through the console sink and remembers which rules fired for which link."""

    def __init__(self, inner: ConsoleSink) -> None:
        self._inner = inner
        self.rules_by_link: dict[str, tuple[str, ...]] = {}

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        outcome = await self._inner.deliver(delivery, rules)
        link = delivery.article.link if delivery.article is not None else None
        if outcome.status is SendStatus.SENT and link:
            self.rules_by_link[link] = tuple(m.rule_id for m in delivery.matches)
        return outcome

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        return await self._inner.send_digest(chat_id, messages, thread_id)


def load_seed_articles(seeds_dir: Path) -> list[SeedArticle]:
    """Seed files: the first line is the title, the rest the body (kept as it is, noise and all)."""
    start = datetime(2025, 7, 11, 8, 0, tzinfo=UTC)
    articles = []
    for i, path in enumerate(sorted(seeds_dir.glob("*.txt"))):
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        title, body = lines[0].strip(), "\n".join(lines[1:]).strip()
        articles.append(SeedArticle(path.stem, title, body, start + timedelta(minutes=30 * i)))
    return articles


def control_article(after: datetime) -> SeedArticle:
    title, body = CONTROL_STORY
    return SeedArticle("control-ecuador", title, body, after + timedelta(minutes=30))


def rss_xml(articles: Sequence[SeedArticle], base_url: str, title: str = "Seed news") -> bytes:
    """An RSS 2.0 document for ``articles``; links point under ``base_url``."""
    items = []
    for a in articles:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in a.body.splitlines() if p.strip())
        items.append(
            "<item>"
            f"<title>{escape(a.title)}</title>"
            f"<link>{escape(base_url)}/articles/{a.slug}</link>"
            f'<guid isPermaLink="false">{escape(a.slug)}</guid>'
            f"<pubDate>{format_datetime(a.published)}</pubDate>"
            f"<description><![CDATA[{paragraphs}]]></description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(base_url)}/</link>"
        f"<description>newswatch demo feed</description>{''.join(items)}</channel></rss>"
    ).encode()


async def run_demo(settings: Settings, *, seeds_dir: Path | None, out: TextIO) -> int:
    """Run the demo; returns 0 when it ran (whatever matched), 1 when no seeds were found."""
    seeds_dir = seeds_dir or DEFAULT_SEEDS
    articles = load_seed_articles(seeds_dir)
    if not articles:
        out.write(f"newswatch demo: no seed articles (*.txt) in {seeds_dir}\n")
        return 1
    articles.append(control_article(articles[-1].published))

    body: list[bytes] = []
    app_web = web.Application()

    async def feed(_: web.Request) -> web.Response:
        return web.Response(body=body[0], content_type="application/rss+xml")

    app_web.router.add_get("/feed.xml", feed)
    runner = web.AppRunner(app_web)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    body.append(rss_xml(articles, base, "Seed news (demo)"))

    workdir = Path(tempfile.mkdtemp(prefix="newswatch-demo-"))
    try:
        config_dir = workdir / "config"
        shutil.copytree(settings.rules_dir, config_dir / "rules")
        (config_dir / "feeds.yaml").write_text(
            f'feeds:\n  - url: "{base}/feed.xml"\n    name: Seed news (demo)\n', encoding="utf-8"
        )
        demo_settings = dataclasses.replace(
            settings,
            telegram_bot_token=None,
            database_url=f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
            config_dir=config_dir,
            alert_on_first_poll=True,
            allow_private_feed_addresses=True,
            health_addr="",
        )
        out.write(f"Serving {len(articles)} demo articles at {base}/feed.xml\n")
        sink = _RecordingSink(ConsoleSink(demo_settings.tz, out))
        app = App(demo_settings, out=out, sink=sink, background=False)
        await app.start()
        try:
            assert app.pipeline is not None
            assert app.sender is not None
            report = await app.pipeline.run_cycle()
            while await app.sender.drain_once():
                pass
        finally:
            await app.stop()
        out.write("─" * 72 + "\nSummary\n")
        for a in articles:
            rules = sink.rules_by_link.get(f"{base}/articles/{a.slug}", ())
            verdict = "ALERT " if rules else "silent"
            out.write(f"  {verdict}  {a.title[:90]}\n")
            out.write(
                f"          rules: {', '.join(sorted(rules)) if rules else '(none matched)'}\n"
            )
        out.write(
            f"{report.new_articles} articles read, {report.new_deliveries} alerts printed above.\n"
        )
        return 0
    finally:
        await runner.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
