"""Pausing and resuming a feed in the feeds file keeps everything else as the operator wrote it."""

from __future__ import annotations

import pytest

from bot.config.feeds_file import parse_feeds_yaml
from bot.config.feeds_pause import set_feed_enabled_entry
from core.errors import ConfigError

TEXT = """\
# Feeds
feeds:
  # Vietnam
  - url: "https://a.example/rss"   # main
    name: A
    tags: [vn]

  # the next one
  - https://b.example/rss
  - url: https://c.example/rss
    enabled: false  # broken
# trailing
"""


def _enabled(text: str) -> dict[str, bool]:
    return {f.url: f.enabled for f in parse_feeds_yaml(text, "feeds.yaml", 300).feeds}


def test_pause_then_resume_gives_back_the_same_file() -> None:
    paused = set_feed_enabled_entry(TEXT, "https://a.example/rss", False)
    assert paused is not None
    assert _enabled(paused) == {
        "https://a.example/rss": False,
        "https://b.example/rss": True,
        "https://c.example/rss": False,
    }
    assert '  - url: "https://a.example/rss"   # main\n    enabled: false\n' in paused
    assert set_feed_enabled_entry(paused, "https://a.example/rss", True) == TEXT


def test_a_plain_item_becomes_a_mapping_and_comments_stay() -> None:
    paused = set_feed_enabled_entry(TEXT, "https://b.example/rss", False)
    assert paused is not None
    assert '  # the next one\n  - url: "https://b.example/rss"\n    enabled: false\n' in paused
    assert _enabled(paused)["https://b.example/rss"] is False
    assert paused.replace('url: "https://b.example/rss"\n    enabled: false', "") != TEXT


def test_resuming_keeps_the_lines_after_the_removed_key() -> None:
    resumed = set_feed_enabled_entry(TEXT, "https://c.example/rss", True)
    assert resumed is not None
    assert resumed.endswith("  - url: https://c.example/rss\n# trailing\n")
    assert "# broken" not in resumed  # the comment of the line that went
    assert all(_enabled(resumed).values())


def test_nothing_to_do_and_unknown_feeds() -> None:
    assert set_feed_enabled_entry(TEXT, "https://a.example/rss", True) == TEXT
    assert set_feed_enabled_entry(TEXT, "https://c.example/rss", False) == TEXT
    assert set_feed_enabled_entry(TEXT, "https://nope.example/", False) is None
    with pytest.raises(ConfigError):
        set_feed_enabled_entry("feeds: [unclosed", "x", False)
