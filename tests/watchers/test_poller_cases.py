"""poll_feed end to end for the cases the issue lists: status codes, hints, restarts, full text."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web

from core.models import Article, FeedState
from tests.fakes.feed_server import FeedServer
from tests.support.seeds import Seed, rss2
from tests.watchers.conftest import NOW
from tests.watchers.test_parse import BILLION_LAUGHS
from watchers.fetch import FeedFetcher
from watchers.fulltext import FullTextExtractor
from watchers.poller import poll_feed
from watchers.schedule import PollSettings


async def test_429_with_retry_after_is_honoured(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings
) -> None:
    url = server.static("/busy.xml", "slow down", status=429, headers={"Retry-After": "7200"})
    out = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    assert out.error == "HTTP 429 Too Many Requests"
    assert out.state.next_check_at == NOW + timedelta(hours=2)
    assert out.state.consecutive_errors == 1


async def test_503_with_retry_after_date(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings
) -> None:
    url = server.static(
        "/down.xml", "down", status=503, headers={"Retry-After": "Fri, 11 Jul 2025 15:00:00 GMT"}
    )
    out = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    assert out.state.next_check_at == NOW + timedelta(hours=3)


async def test_last_modified_round_trip_and_new_validators_every_time(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    version = {"n": 1}

    async def handler(request: web.Request) -> web.Response:
        lm = f"Fri, 11 Jul 2025 0{version['n']}:00:00 GMT"
        if request.headers.get("If-Modified-Since") == lm:
            return web.Response(status=304)
        body = rss2(seeds[: version["n"] + 1])
        return web.Response(
            text=body, content_type="application/rss+xml", headers={"Last-Modified": lm}
        )

    url = server.route("/lm.xml", handler)
    s1 = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    assert s1.state.last_modified == "Fri, 11 Jul 2025 01:00:00 GMT"
    s2 = await poll_feed(s1.state, fetcher, NOW, settings)
    assert s2.not_modified
    assert s2.state.last_modified == s1.state.last_modified
    version["n"] = 2
    s3 = await poll_feed(s2.state, fetcher, NOW, settings)
    assert s3.parsed
    assert len(s3.articles) == 3
    assert s3.state.last_modified == "Fri, 11 Jul 2025 02:00:00 GMT"
    assert s3.state.body_hash != s1.state.body_hash


async def test_cache_control_and_ttl_lengthen_the_interval(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    cc = server.static("/cc.xml", rss2(seeds), headers={"Cache-Control": "public, max-age=1800"})
    ttl = server.static("/ttl.xml", rss2(seeds, ttl=60))
    a = await poll_feed(FeedState(url=cc), fetcher, NOW, settings)
    b = await poll_feed(FeedState(url=ttl), fetcher, NOW, settings)
    assert a.state.next_check_at == NOW + timedelta(minutes=30)
    assert b.state.next_check_at == NOW + timedelta(hours=1)


async def test_gzip_feed_and_illformed_feed_still_yield_articles(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    gz = server.static("/gz.xml", rss2(seeds), gzip_body=True)
    broken = server.static("/broken.xml", rss2(seeds).replace("</channel></rss>", "<item><title>x"))
    a = await poll_feed(FeedState(url=gz), fetcher, NOW, settings)
    b = await poll_feed(FeedState(url=broken), fetcher, NOW, settings)
    assert len(a.articles) == len(seeds)
    assert b.error is None
    assert b.bozo is not None
    assert [x.title for x in b.articles[: len(seeds)]] == [s.title for s in seeds]


async def test_not_a_feed_and_entity_bomb_are_errors_with_backoff(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings
) -> None:
    page = server.static("/page", "<html><body>hello</body></html>", "text/html")
    bomb = server.static("/bomb.xml", BILLION_LAUGHS)
    a = await poll_feed(FeedState(url=page), fetcher, NOW, settings)
    b = await poll_feed(FeedState(url=bomb), fetcher, NOW, settings)
    assert a.error is not None
    assert a.error.startswith("not a feed:")
    assert b.error == "refused: the document declares XML entities (entity-expansion risk)"
    assert b.state.consecutive_errors == 1
    assert b.state.body_hash is None  # a refused body is never marked as seen


async def test_slow_feed_times_out_and_backs_off(
    server: FeedServer, settings: PollSettings, seeds: list[Seed]
) -> None:
    release = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), timeout=10)
        return web.Response(text=rss2(seeds))

    url = server.route("/slow.xml", slow)
    async with FeedFetcher(allow_private=True, read_timeout_s=0.2, total_timeout_s=5) as f:
        out = await poll_feed(FeedState(url=url), f, NOW, settings)
    release.set()
    assert out.error == "timed out"
    assert out.state.last_error == "timed out"
    assert out.state.next_check_at == NOW + timedelta(seconds=300)


async def test_first_poll_flag_and_published_fallback(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings
) -> None:
    body = (
        "<rss version='2.0'><channel><title>t</title><item><title>undated</title>"
        "<link>https://u.example/1</link></item></channel></rss>"
    )
    url = server.static("/undated.xml", body)
    first = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    assert first.first_poll
    assert first.articles[0].published_at == NOW
    server.static(
        "/undated.xml", body.replace("</channel>", "<item><title>b</title></item></channel>")
    )
    second = await poll_feed(first.state, fetcher, NOW + timedelta(minutes=5), settings)
    assert not second.first_poll
    assert second.parsed


class SeenStore:
    """What storage's unique constraint on identity does, in memory: the test's stand-in."""

    def __init__(self) -> None:
        self.identities: set[str] = set()
        self.alerts: list[str] = []

    def ingest(self, articles: list[Article], alert: bool) -> None:
        for a in articles:
            if a.identity not in self.identities:
                self.identities.add(a.identity)
                if alert:
                    self.alerts.append(a.title)


async def test_crash_between_fetch_and_save_neither_realerts_nor_skips(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    url = server.static("/feed.xml", rss2(seeds[:3]), etag='"a"')
    store = SeenStore()
    out = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    store.ingest(out.articles, alert=not out.first_poll)
    saved = out.state  # articles stored first, then the state
    server.static("/feed.xml", rss2(seeds[:4]), etag='"b"')
    # The process dies after storing the new articles but before saving the state ...
    crashed = await poll_feed(saved, fetcher, NOW + timedelta(minutes=5), settings)
    store.ingest(crashed.articles, alert=True)
    # ... and after the restart polls again from the last saved state.
    again = await poll_feed(saved, fetcher, NOW + timedelta(minutes=6), settings)
    assert again.parsed
    store.ingest(again.articles, alert=True)
    assert store.alerts == [seeds[3].title]  # the new story once, no old story
    # Dies before storing anything: the restart sees the same new story, not skipped.
    store2 = SeenStore()
    store2.ingest(out.articles, alert=False)
    retry = await poll_feed(saved, fetcher, NOW + timedelta(minutes=7), settings)
    store2.ingest(retry.articles, alert=True)
    assert store2.alerts == [seeds[3].title]


async def test_full_text_is_fetched_for_short_summaries_only_once(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    page = (
        "<html><head><title>x</title></head><body><nav>Menu Home About</nav><article>"
        + "".join(f"<p>{line}</p>" for line in seeds[0].body.splitlines())
        + "</article><footer>Copyright</footer></body></html>"
    )
    server.static(f"/{seeds[0].slug}.html", page, "text/html; charset=utf-8")
    body = rss2(seeds[:1], base=server.url(""), with_content=False)
    url = server.static("/short.xml", body)
    extractor = FullTextExtractor(fetcher, min_summary_chars=400)
    state = FeedState(url=url, full_text=True)
    out = await poll_feed(state, fetcher, NOW, settings, full_text=extractor)
    (a,) = out.articles
    assert "Comprehensive Strategic Partnership in 2023" in a.content
    assert "Menu Home About" not in a.content
    assert server.hits[f"/{seeds[0].slug}.html"] == 1
    server.static("/short.xml", body.replace("Seed News", "Seed News!"))
    await poll_feed(out.state, fetcher, NOW, settings, full_text=extractor)
    assert server.hits[f"/{seeds[0].slug}.html"] == 1  # cached by identity
    off = await poll_feed(FeedState(url=url), fetcher, NOW, settings, full_text=extractor)
    assert off.articles[0].content == ""  # feed without full_text: untouched
