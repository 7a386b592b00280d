"""`newswatch feeds` and `newswatch feeds add`: the table, and adding a checked feed to the file
(the edit itself is tested in tests/bot/config/test_feeds_file.py)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli.feed_commands import cmd_feeds_add, cmd_feeds_list, render_feed_table
from bot.config.feeds_file import parse_feeds_yaml
from core.models import FeedState
from tests.fakes.feed_server import FeedServer
from tests.support.seeds import Seed, rss2
from watchers.fetch import FeedFetcher

FEEDS = """\
# my feeds
defaults:
  interval: 5m

feeds:
  # Vietnam
  - url: https://a.example/rss
    name: A   # trusted

  - url: https://b.example/rss
# trailing comment stays
"""

NOW = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)


async def test_feeds_add_validates_then_appends(
    feed_server: FeedServer, seeds: list[Seed], tmp_path: Path
) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(FEEDS, encoding="utf-8")
    url = feed_server.static("/rss", rss2(seeds, title="Local Seeds"))
    out = io.StringIO()

    def factory() -> FeedFetcher:
        return FeedFetcher(allow_private=True)

    code = await cmd_feeds_add(url, feeds_file, factory, out, allow_private=True)
    assert code == 0
    assert out.getvalue() == (
        f"Added “Local Seeds” ({len(seeds)} items): {url}. Its first poll records the items it "
        "has without alerting; alerts start with the next new story.\n"
        f"  (written to {feeds_file})\n"
    )
    cfg = parse_feeds_yaml(feeds_file.read_text(), "f", 300)
    assert cfg.feeds[-1].url == url
    assert cfg.feeds[-1].name == "Local Seeds"
    assert "# trailing comment stays" in feeds_file.read_text()

    again = io.StringIO()
    fetched = feed_server.hits["/rss"]
    assert await cmd_feeds_add(url, feeds_file, factory, again, allow_private=True) == 0
    assert again.getvalue().startswith(f"{url} is already in the feeds list; nothing changed.")
    assert await cmd_feeds_add(url + "/", feeds_file, factory, again, allow_private=True) == 0
    assert feed_server.hits["/rss"] == fetched  # a feed already listed is not fetched again

    before = feeds_file.read_text()
    bad = io.StringIO()
    missing = feed_server.url("/missing")
    assert await cmd_feeds_add(missing, feeds_file, factory, bad) == 1
    assert bad.getvalue() == (
        f"Could not add {missing}: blocked address: 127.0.0.1 is a loopback address. Feeds on "
        "loopback or private network addresses are refused unless the operator sets "
        "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES=true.\n"
    )
    assert await cmd_feeds_add(missing, feeds_file, factory, bad, allow_private=True) == 1
    assert bad.getvalue().endswith(
        ": HTTP 404 Not Found. Check the address: open it in a browser to see what the site "
        "answers.\n"
    )
    assert feeds_file.read_text() == before


async def test_feeds_add_warns_about_an_empty_feed(feed_server: FeedServer, tmp_path: Path) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(FEEDS, encoding="utf-8")
    url = feed_server.static("/empty", rss2([], title="Quiet"))
    out = io.StringIO()
    code = await cmd_feeds_add(
        url, feeds_file, lambda: FeedFetcher(allow_private=True), out, allow_private=True
    )
    assert code == 0
    assert out.getvalue().startswith(
        f"Added “Quiet”: {url}. Warning: the feed has no items right now, so nothing can "
        "match yet; check that this is the feed you meant.\n"
    )


class ListOnlyStorage:
    """The one Storage method the table needs; any other call would fail loudly."""

    def __init__(self, states: list[FeedState]) -> None:
        self.states = states

    async def list_feeds(self) -> list[FeedState]:
        return self.states


async def test_feeds_list_prints_problems_first() -> None:
    states = [
        FeedState(
            url="https://ok.example/rss",
            name="Okay",
            last_success_at=NOW - timedelta(minutes=3),
            next_check_at=NOW + timedelta(minutes=2),
            items_seen=120,
            avg_new_item_interval_s=1800,
        ),
        FeedState(
            url="https://bad.example/rss",
            consecutive_errors=3,
            failing_since=NOW - timedelta(hours=2),
            last_error="HTTP 503 Service Unavailable",
            next_check_at=NOW + timedelta(minutes=20),
        ),
    ]
    out = io.StringIO()
    code = await cmd_feeds_list(ListOnlyStorage(states), out, ZoneInfo("Asia/Ho_Chi_Minh"), NOW)  # type: ignore[arg-type]
    assert code == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "STATUS",
        "FEED",
        "LAST",
        "OK",
        "ITEMS",
        "RHYTHM",
        "NEXT",
        "CHECK",
        "LAST",
        "ERROR",
    ]
    assert lines[1].startswith("failing x3  https://bad.example/rss  -")
    assert lines[1].endswith("HTTP 503 Service Unavailable")
    assert "2025-07-11 18:57 (3m ago)" in lines[2]
    assert "30m" in lines[2]
    assert lines[-1] == "2 feeds, 1 need attention"


def test_empty_table_says_how_to_add() -> None:
    assert (
        render_feed_table([], NOW, UTC) == "No feeds yet. Add one with: newswatch feeds add URL\n"
    )
