"""``newswatch demo``: the whole path, offline, on the seed articles.

Serves the seed articles (and one control story that no shipped rule should match) as RSS
feeds on 127.0.0.1, one per outlet (VNA, VietNamNet: from the labelled stories set), polls them
one after the other with the shipped rules against a throw-away SQLite database, sending what
each poll queued before the next, prints every alert to the console, then a verdict per article.
Reports of one event are one story: its first report alerts, a later one edits that alert to
list both sources ("SOURCES ADDED"). Needs no network and no token. Does not touch ./data or the
real configuration.
"""

from __future__ import annotations

import dataclasses
import json
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
from core.text import plural

DEFAULT_SEEDS = Path(__file__).resolve().parents[2] / "tests" / "data" / "seeds"
LABELLED = Path(__file__).resolve().parents[2] / "tests" / "data" / "stories" / "labelled.jsonl"
DEFAULT_OUTLET = "Seed news"
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
    outlet: str = DEFAULT_OUTLET


class _RecordingSink:
    """Prints through the console sink and remembers which rules fired for which link."""

    def __init__(self, inner: ConsoleSink) -> None:
        self._inner = inner
        self.rules_by_link: dict[str, tuple[str, ...]] = {}
        self.sources_by_link: dict[str, tuple[str, ...]] = {}  # a story alert's source links

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        outcome = await self._inner.deliver(delivery, rules)
        link = delivery.article.link if delivery.article is not None else None
        if outcome.status is SendStatus.SENT and link:
            self.rules_by_link[link] = tuple(m.rule_id for m in delivery.matches)
            if delivery.sources:
                self.sources_by_link[link] = tuple(s.link or "" for s in delivery.sources)
        return outcome

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        return await self._inner.send_digest(chat_id, messages, thread_id)


def load_seed_articles(seeds_dir: Path) -> list[SeedArticle]:
    """Seed files: the first line is the title, the rest the body (kept as it is, noise and all)."""
    start = datetime(2025, 7, 11, 8, 0, tzinfo=UTC)
    outlets = _seed_outlets()
    articles = []
    for i, path in enumerate(sorted(seeds_dir.glob("*.txt"))):
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        title, body = lines[0].strip(), "\n".join(lines[1:]).strip()
        outlet = outlets.get(f"seed-{path.stem[:3]}", DEFAULT_OUTLET)
        articles.append(
            SeedArticle(path.stem, title, body, start + timedelta(minutes=30 * i), outlet)
        )
    return articles


def _seed_outlets() -> dict[str, str]:
    """``seed-000`` -> "VNA", from the labelled stories set (empty when it is not there)."""
    if not LABELLED.is_file():
        return {}
    out = {}
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if str(row.get("id", "")).startswith("seed-") and row.get("outlet"):
                out[str(row["id"])] = str(row["outlet"])
    return out


def control_article(after: datetime) -> SeedArticle:
    title, body = CONTROL_STORY
    return SeedArticle("control-ecuador", title, body, after + timedelta(minutes=30), "VNA")


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

    outlets = list(dict.fromkeys(a.outlet for a in articles))  # in order of first article
    bodies: dict[str, bytes] = {}
    app_web = web.Application()

    async def feed(request: web.Request) -> web.Response:
        return web.Response(
            body=bodies[request.match_info["n"]], content_type="application/rss+xml"
        )

    app_web.router.add_get("/feed/{n}.xml", feed)
    runner = web.AppRunner(app_web)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    feed_urls = [f"{base}/feed/{n}.xml" for n in range(len(outlets))]
    for n, outlet in enumerate(outlets):
        mine = [a for a in articles if a.outlet == outlet]
        bodies[str(n)] = rss_xml(mine, base, outlet)

    workdir = Path(tempfile.mkdtemp(prefix="newswatch-demo-"))
    try:
        config_dir = workdir / "config"
        shutil.copytree(settings.rules_dir, config_dir / "rules")
        (config_dir / "feeds.yaml").write_text(
            "feeds:\n"
            + "".join(
                f'  - url: "{url}"\n    name: {json.dumps(outlet)}\n'
                for url, outlet in zip(feed_urls, outlets, strict=True)
            ),
            encoding="utf-8",
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
        out.write(
            f"Serving {len(articles)} demo articles in {len(outlets)} feeds"
            f" ({', '.join(outlets)}) at {base}/feed/\n"
        )
        sink = _RecordingSink(ConsoleSink(demo_settings.tz, out))
        app = App(demo_settings, out=out, sink=sink, background=False)
        await app.start()
        try:
            assert app.pipeline is not None
            assert app.sender is not None
            assert app.services is not None
            read = 0
            # One feed after the other, sending in between: the second outlet's report of a
            # story is then a new source of an alert already sent (an edit), as in real life.
            due = {s.url: s for s in await app.services.storage.due_feeds(app.clock.now())}
            for url in feed_urls:
                report = await app.pipeline.poll_one(due[url])
                read += report.new_articles
                while await app.sender.drain_once():
                    pass
        finally:
            await app.stop()
        _summary(articles, base, sink, out)
        alerts = sum(1 for a in articles if f"{base}/articles/{a.slug}" in sink.rules_by_link)
        stories = sum(1 for sources in sink.sources_by_link.values() if len(sources) > 1)
        out.write(
            f"{plural(read, 'article')} read, {plural(alerts, 'alert')} printed above"
            f" ({stories} of them with more than one source).\n"
        )
        return 0
    finally:
        await runner.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def _summary(articles: Sequence[SeedArticle], base: str, sink: _RecordingSink, out: TextIO) -> None:
    """One verdict per article: its own alert (with the story's sources), joined another
    article's alert as a source, or silent."""
    by_link = {f"{base}/articles/{a.slug}": a for a in articles}
    joined = {
        source: first
        for first, sources in sink.sources_by_link.items()
        for source in sources
        if source != first
    }
    out.write("─" * 72 + "\nSummary\n")
    for link, a in by_link.items():
        rules = sink.rules_by_link.get(link, ())
        if link in joined:
            out.write(f"  joined  {a.title[:90]}\n")
            first = by_link.get(joined[link])
            out.write(
                f"          a source of the alert for: {first.title[:70] if first else '?'}\n"
            )
            continue
        out.write(f"  {'ALERT ' if rules else 'silent'}  {a.title[:90]}\n")
        out.write(f"          rules: {', '.join(sorted(rules)) if rules else '(none matched)'}\n")
        sources = sink.sources_by_link.get(link, ())
        if len(sources) > 1:
            names = [by_link[s].outlet if s in by_link else s for s in sources]
            out.write(f"          {len(sources)} sources: {', '.join(names)}\n")
