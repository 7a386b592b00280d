"""OPML export and import (``bot/config/opml.py``)."""

from __future__ import annotations

import pytest

from bot.config.opml import feeds_from_opml, feeds_to_opml
from core.errors import ConfigError
from core.models import FeedConfig


def test_round_trip_keeps_addresses_names_and_escapes() -> None:
    feeds = [
        FeedConfig(url="https://a.example/rss?x=1&y=2", name="A & <B>", tags=("vn", "sea")),
        FeedConfig(url="https://b.example/atom"),
    ]
    text = feeds_to_opml(feeds)
    assert 'xmlUrl="https://a.example/rss?x=1&amp;y=2"' in text
    assert 'category="vn,sea"' in text
    back = feeds_from_opml(text.encode())
    assert [(f.url, f.name) for f in back] == [
        ("https://a.example/rss?x=1&y=2", "A & <B>"),
        ("https://b.example/atom", "https://b.example/atom"),
    ]


def test_nested_folders_and_duplicates() -> None:
    data = (
        b'<opml version="1.0"><body><outline text="News">'
        b'<outline text="A" xmlUrl="https://a.example/rss"/>'
        b'<outline text="A again" xmlUrl="https://a.example/rss"/></outline>'
        b'<outline text="B" type="rss" xmlUrl="https://b.example/rss"/></body></opml>'
    )
    assert [f.url for f in feeds_from_opml(data)] == [
        "https://a.example/rss",
        "https://b.example/rss",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not xml <", "not valid XML"),
        (b"<rss><channel/></rss>", "not OPML"),
        (b"<opml><body><outline text='x'/></body></opml>", "lists no feed"),
        (b'<!DOCTYPE lol [<!ENTITY a "a">]><opml/>', "document type declaration"),
        (b"<opml>" + b" " * 1_000_001 + b"</opml>", "larger than"),
    ],
)
def test_bad_files_say_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        feeds_from_opml(data)
