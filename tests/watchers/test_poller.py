"""poll_feed against a real local server: validators, identical bodies, errors, redirects."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp import web

from core.models import FeedState
from tests.fakes.feed_server import FeedServer
from tests.support.seeds import Seed, rss2
from tests.watchers.conftest import NOW
from watchers.fetch import FeedFetcher
from watchers.poller import counted_from_end, poll_feed
from watchers.schedule import PollSettings


async def test_first_poll_yields_clean_articles_then_304_parses_nothing(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    url = server.static("/feed.xml", rss2(seeds), etag='"v1"')
    out = await poll_feed(FeedState(url=url, name="Seeds"), fetcher, NOW, settings)
    assert out.error is None
    assert out.parsed
    assert out.first_poll
    assert not out.alert  # the feed's existing items are recorded, not alerted
    assert [a.title for a in out.articles] == [s.title for s in seeds]
    first = out.articles[0]
    assert first.link == f"https://news.example.com/{seeds[0].slug}.html?section=news"
    assert first.summary == seeds[0].lead  # markup stripped, entities decoded
    assert "Foreign Affair🧔s" in first.content
    assert first.feed_name == "Seeds"
    assert first.feed_url == url
    assert first.identity == f"guid:127.0.0.1#{seeds[0].slug}"
    assert out.state.etag == '"v1"'
    assert out.state.body_hash
    assert out.state.first_poll_done
    assert out.state.next_check_at == NOW + timedelta(seconds=300)

    again = await poll_feed(out.state, fetcher, NOW + timedelta(minutes=5), settings)
    assert again.not_modified
    assert not again.parsed
    assert again.articles == []
    assert again.state.etag == '"v1"'
    assert not again.first_poll
    assert server.seen[-1].headers["If-None-Match"] == '"v1"'
    assert server.seen[-1].headers["User-Agent"] == "newswatch-test/1.0"
    loud = await poll_feed(
        FeedState(url=url), fetcher, NOW, replace(settings, alert_on_first_poll=True)
    )
    assert loud.first_poll
    assert loud.alert


async def test_identical_body_without_validators_is_not_parsed(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    url = server.static("/plain.xml", rss2(seeds))
    first = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    assert first.parsed
    assert first.state.etag is None
    second = await poll_feed(first.state, fetcher, NOW, settings)
    assert second.error is None
    assert not second.parsed
    assert second.articles == []
    assert second.state.last_success_at == NOW


async def test_404_backs_off_exponentially_and_recovers(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings
) -> None:
    state = FeedState(url=server.url("/missing.xml"))
    delays = []
    for _ in range(3):
        out = await poll_feed(state, fetcher, NOW, settings)
        assert out.error == "HTTP 404 Not Found"
        assert out.status == 404
        state = out.state
        assert state.next_check_at is not None
        delays.append((state.next_check_at - NOW).total_seconds())
    assert state.consecutive_errors == 3
    assert state.failing_since == NOW
    assert state.last_error == "HTTP 404 Not Found"
    assert delays == [300.0, 600.0, 1200.0]  # from the normal interval, doubling
    many = replace(state, consecutive_errors=30)
    out = await poll_feed(many, fetcher, NOW, settings)
    assert out.state.next_check_at == NOW + timedelta(days=1)  # capped at a day, never given up


async def test_410_disables_the_feed_and_stops_polling(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings
) -> None:
    url = server.static("/gone.xml", "gone", status=410)
    out = await poll_feed(FeedState(url=url), fetcher, NOW, settings)
    assert out.state.disabled_reason == "410 Gone"
    assert out.error == "HTTP 410 Gone"
    again = await poll_feed(out.state, fetcher, NOW, settings)
    assert again.error == "disabled: 410 Gone"
    assert server.hits["/gone.xml"] == 1


async def test_permanent_redirect_is_recorded_and_used_next_time(
    server: FeedServer, fetcher: FeedFetcher, settings: PollSettings, seeds: list[Seed]
) -> None:
    new = server.static("/new.xml", rss2(seeds))

    async def moved(_: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently(location="/new.xml")

    old = server.route("/old.xml", moved)
    out = await poll_feed(FeedState(url=old), fetcher, NOW, settings)
    assert out.redirected_to == new
    assert out.state.redirected_to == new
    assert out.state.url == old
    assert len(out.articles) == len(seeds)
    assert all(a.feed_url == old for a in out.articles)
    await poll_feed(out.state, fetcher, NOW, settings)
    assert server.hits["/old.xml"] == 1
    assert server.hits["/new.xml"] == 2


def test_counted_from_end_moves_only_a_scheduled_check_forward() -> None:
    due = NOW + timedelta(minutes=5)
    state = FeedState(url="http://127.0.0.1/f.xml", next_check_at=due)
    assert counted_from_end(state, timedelta(seconds=7)).next_check_at == due + timedelta(seconds=7)
    assert counted_from_end(state, timedelta(0)) == state
    assert counted_from_end(state, timedelta(seconds=-3)) == state  # a clock step back
    unscheduled = FeedState(url="http://127.0.0.1/f.xml")
    assert counted_from_end(unscheduled, timedelta(seconds=7)) == unscheduled
