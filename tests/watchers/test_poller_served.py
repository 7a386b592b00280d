"""The parsing cases once more, end to end: served by the local server, polled by poll_feed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.models import FeedState
from tests.fakes.feed_server import FeedServer
from tests.support.seeds import Seed, rss2
from tests.watchers.conftest import NOW
from tests.watchers.test_parse_golden import CONTENT_TYPES
from watchers.fetch import FeedFetcher
from watchers.poller import poll_feed
from watchers.schedule import PollSettings

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.xml")))
async def test_golden_feeds_over_http(
    name: str, server: FeedServer, fetcher: FeedFetcher, settings: PollSettings
) -> None:
    ctype = CONTENT_TYPES.get(name, "application/xml")
    url = server.static(f"/{name}.xml", (GOLDEN / f"{name}.xml").read_bytes(), ctype)
    out = await poll_feed(FeedState(url=url, name=name), fetcher, NOW, settings)
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert out.error is None
    assert [(a.title, a.summary, a.content) for a in out.articles] == [
        (e["title"], e["summary"], e["content"]) for e in expected["items"]
    ]
    # Identities that do not depend on the feed's own URL are the same as in the golden file.
    for got, want in zip(out.articles, expected["items"], strict=True):
        if "feeds.example.org" not in want["identity"]:
            assert got.identity == want["identity"]


async def test_duplicates_across_two_served_feeds_share_identities(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    base = "https://outlet.example"
    a = server.static("/politics.rss", rss2(seeds[:3], base=base, guids=False))
    b = server.static("/world.rss", rss2(seeds[1:], base=base, guids=False, title="World"))
    pa = await poll_feed(FeedState(url=a), fetcher, NOW, settings)
    pb = await poll_feed(FeedState(url=b), fetcher, NOW, settings)
    shared = {x.identity for x in pa.articles} & {x.identity for x in pb.articles}
    assert len(shared) == 2
    assert all(i.startswith("link:https://outlet.example/") for i in shared)


async def test_changing_guids_and_an_edited_item_over_http(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    url = server.static("/f.rss", rss2(seeds[:2], guid_prefix="a-"))
    first = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    server.static("/f.rss", rss2(seeds[:2], guid_prefix="b-"))
    second = await poll_feed(first.state, fetcher, NOW + timedelta(minutes=5), settings)
    assert [x.identity for x in first.articles] != [x.identity for x in second.articles]
    assert [(x.link_key, x.title) for x in first.articles] == [
        (x.link_key, x.title) for x in second.articles
    ]
    edited = [Seed(seeds[0].slug, "Corrected: " + seeds[0].title, seeds[0].lead, "New text")]
    server.static("/f.rss", rss2(edited + seeds[1:2], guid_prefix="b-"))
    third = await poll_feed(second.state, fetcher, NOW + timedelta(minutes=10), settings)
    assert third.articles[0].identity == second.articles[0].identity
    assert third.articles[0].title == "Corrected: " + seeds[0].title
    assert third.articles[0].content == "New text"
