"""inspect_feed_url: validation, the address guard, HTML pages that link their feed."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.feed_server import FeedServer
from tests.support.seeds import Seed, rss2
from watchers.discovery import check_url_syntax, feed_links_in_html, inspect_feed_url
from watchers.fetch import FeedFetcher


async def test_a_feed_reports_title_and_item_count(
    server: FeedServer, fetcher: FeedFetcher, seeds: list[Seed]
) -> None:
    url = server.static("/rss", rss2(seeds, title="Seed &amp; News"))
    probe = await inspect_feed_url(url, fetcher, allow_private=True)
    assert probe.ok
    assert (probe.feed_url, probe.title, probe.item_count) == (url, "Seed & News", len(seeds))


async def test_an_html_page_resolves_to_its_alternate_feed(
    server: FeedServer, fetcher: FeedFetcher, seeds: list[Seed]
) -> None:
    feed = server.static("/feeds/main.xml", rss2(seeds))
    page = (
        "<!doctype html><html><head><title>Outlet</title>"
        '<link rel="stylesheet" href="/s.css">'
        '<link rel="alternate" type="application/rss+xml" title="Main" href="feeds/main.xml">'
        '<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
        "</head><body>news</body></html>"
    )
    home = server.static("/", page, "text/html; charset=utf-8")
    probe = await inspect_feed_url(home, fetcher, allow_private=True)
    assert probe.ok
    assert probe.feed_url == feed
    assert probe.discovered_from == home
    assert probe.item_count == len(seeds)


async def test_a_page_without_feed_links_is_explained(
    server: FeedServer, fetcher: FeedFetcher
) -> None:
    url = server.static("/plain", "<html><head></head><body>hi</body></html>", "text/html")
    probe = await inspect_feed_url(url, fetcher, allow_private=True)
    assert not probe.ok
    assert probe.problem is not None
    assert probe.problem.startswith("this is a web page that links no RSS or Atom feed")


async def test_private_addresses_are_rejected_unless_allowed(
    server: FeedServer, fetcher: FeedFetcher, seeds: list[Seed]
) -> None:
    url = server.static("/rss", rss2(seeds))
    probe = await inspect_feed_url(url, fetcher, allow_private=False)
    assert not probe.ok
    assert probe.problem == "blocked address: 127.0.0.1 is a loopback address"
    assert server.hits["/rss"] == 0


async def test_redirect_into_private_space_is_rejected(server: FeedServer) -> None:
    async def to_metadata(_: web.Request) -> web.Response:
        raise web.HTTPFound(location="http://169.254.169.254/latest/meta-data/")

    url = server.route("/r", to_metadata)
    # The first hop (our server) is allowed for this test; the guard must stop the second.
    async with FeedFetcher(
        allow_private=False, address_policy=lambda a: None if a == "127.0.0.1" else "blocked"
    ) as strict:
        probe = await inspect_feed_url(url, strict, allow_private=False)
    assert probe.problem == "blocked address: blocked"


async def test_http_errors_are_reported_exactly(server: FeedServer, fetcher: FeedFetcher) -> None:
    probe = await inspect_feed_url(server.url("/nope"), fetcher, allow_private=True)
    assert probe.problem == "HTTP 404 Not Found"


def test_url_syntax() -> None:
    assert check_url_syntax("ftp://x.example/feed") == (
        "only http:// and https:// feeds are supported, got ftp scheme"
    )
    assert check_url_syntax("x.example/feed") is not None
    assert check_url_syntax("https://user:pw@x.example/") is not None
    assert check_url_syntax("http://x.example:99999/") is not None
    assert check_url_syntax("https://x.example/rss") is None


def test_feed_links_in_html() -> None:
    html = (
        b'<link rel="Alternate  feed" type="application/atom+xml; charset=utf-8" href="/a">'
        b'<link rel="alternate" type="text/html" href="/b">'
        b'<link rel="alternate" type="application/rss+xml" href="https://c.example/c">'
    )
    assert feed_links_in_html(html, "https://x.example/p/") == [
        "https://x.example/a",
        "https://c.example/c",
    ]
