"""The feeds file: parsing and validation, and the round-trip edits (append a feed, remove one)
that keep the operator's comments, blank lines, quoting and indentation."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from bot.config.feeds_file import (
    append_feed_entry,
    load_feeds_file,
    parse_feeds_yaml,
    remove_feed_entry,
    write_file_atomically,
)
from core.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "feeds.yaml"

# Parsing ------------------------------------------------------------------------------------


def test_feeds_file_with_defaults_and_per_feed_settings() -> None:
    text = """
defaults:
  interval: 10m
feeds:
  - https://example.org/rss
  - url: https://news.example.com/feed.xml
    name: Example News
    tags: [vietnam, official]
    interval: 2m
    full_text: true
"""
    config = parse_feeds_yaml(text, "feeds.yaml", 300)
    assert config.default_interval_s == 600
    first, second = config.feeds
    assert first.url == "https://example.org/rss"
    assert first.interval_s is None
    assert second.name == "Example News"
    assert second.tags == ("vietnam", "official")
    assert second.interval_s == 120
    assert second.full_text is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("feeds: [\n", "feeds.yaml:2:1: not valid YAML"),
        ("- just a list", "expected a mapping"),
        ("feeds:\n  - url: ftp://x/feed", "feeds[1]: url must be an http"),
        ("feeds:\n  - name: no url", "feeds[1]: each feed needs a 'url'"),
        ("feeds:\n  - https://a.example/f\n  - https://a.example/f", "feeds[2]: duplicate"),
        ("feeds:\n  - url: https://a.example/f\n    intervall: 5m", "unknown key(s) intervall"),
        ("feeds:\n  - url: https://a.example/f\n    interval: never", "feeds[1].interval"),
    ],
)
def test_bad_feeds_files_name_the_place(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_feeds_yaml(text, "feeds.yaml", 300)
    assert fragment in str(err.value)


def test_missing_feeds_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="feeds file not found"):
        load_feeds_file(tmp_path / "feeds.yaml", 300)


# Helpers for the edits ----------------------------------------------------------------------


def _urls(text: str) -> list[str]:
    return [f.url for f in parse_feeds_yaml(text, "feeds.yaml", 300).feeds]


def _only_inserted(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``; fails if it changed or dropped any line."""
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    changed = [d for d in diff if d[:2] in ("- ", "+ ")]
    assert all(d.startswith("+ ") for d in changed), "\n".join(changed)
    return [d[2:] for d in changed]


def _only_removed(before: str, after: str) -> list[str]:
    """The lines ``after`` drops from ``before``; fails if it changed or added any line."""
    return _only_inserted(after, before)


# Appending ----------------------------------------------------------------------------------

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


def test_append_keeps_comments_and_indentation() -> None:
    out = append_feed_entry(FEEDS, "https://c.example/rss?x=1&y=2", 'C "quoted" #1')
    assert out.startswith(FEEDS.split("# trailing")[0].rstrip("\n"))
    assert '  - url: "https://c.example/rss?x=1&y=2"\n    name: "C \\"quoted\\" #1"\n' in out
    assert out.endswith("# trailing comment stays\n")
    cfg = parse_feeds_yaml(out, "feeds.yaml", 300)
    assert [f.url for f in cfg.feeds][-1] == "https://c.example/rss?x=1&y=2"
    assert cfg.feeds[-1].name == 'C "quoted" #1'
    assert _only_inserted(FEEDS, out) == [
        '  - url: "https://c.example/rss?x=1&y=2"',
        '    name: "C \\"quoted\\" #1"',
    ]


def test_append_before_a_following_key_and_into_empty_files() -> None:
    text = "feeds:\n- url: https://a.example/rss\ndefaults:\n  interval: 10m\n"
    out = append_feed_entry(text, "https://n.example/", None)
    assert out == (
        'feeds:\n- url: https://a.example/rss\n- url: "https://n.example/"\n'
        "defaults:\n  interval: 10m\n"
    )
    assert append_feed_entry("", "https://n.example/", "N") == (
        'feeds:\n  - url: "https://n.example/"\n    name: "N"\n'
    )
    assert append_feed_entry("feeds: []\n", "https://n.example/", None) == (
        'feeds:\n  - url: "https://n.example/"\n'
    )


def test_append_after_a_feed_given_as_a_mapping_with_comments() -> None:
    text = """\
feeds:
  # --- Vietnam ---
  - url: https://a.example/rss   # unverified
    # the English edition
    name: A News
    tags: [vietnam, state-media]   # both
    full_text: true   # summaries only

  # --- World: add below ---
"""
    out = append_feed_entry(text, "https://w.example/rss", "World")
    assert _only_inserted(text, out) == ['  - url: "https://w.example/rss"', '    name: "World"']
    lines = out.splitlines()
    assert (
        lines.index('    name: "World"')
        == lines.index("    full_text: true   # summaries only") + 2
    )
    assert out.endswith('    name: "World"\n\n  # --- World: add below ---\n')
    assert _urls(out) == ["https://a.example/rss", "https://w.example/rss"]


def test_append_to_a_flow_style_list_makes_it_a_block_list() -> None:
    out = append_feed_entry("feeds: []   # none yet\n", "https://n.example/", None)
    assert out == 'feeds:  # none yet\n  - url: "https://n.example/"\n'
    two = "feeds: [https://a.example/rss, 'https://b.example/rss']\ndefaults: {interval: 5m}\n"
    out = append_feed_entry(two, "https://n.example/", "N")
    assert out == (
        "feeds:\n  - https://a.example/rss\n  - 'https://b.example/rss'\n"
        '  - url: "https://n.example/"\n    name: "N"\ndefaults: {interval: 5m}\n'
    )


def test_append_with_a_defaults_key_after_the_feeds() -> None:
    text = """\
feeds:
    - url: https://a.example/rss
      tags: [vn]

# How often to poll.
defaults:
    interval: 10m   # busy feeds
"""
    out = append_feed_entry(text, "https://n.example/", "Tin mới")
    assert _only_inserted(text, out) == ['    - url: "https://n.example/"', '      name: "Tin mới"']
    assert out.index("Tin mới") < out.index("# How often to poll.")
    cfg = parse_feeds_yaml(out, "feeds.yaml", 300)
    assert cfg.default_interval_s == 600
    assert cfg.feeds[-1].name == "Tin mới"


def test_append_to_an_empty_feeds_key_keeps_what_follows_it() -> None:
    text = "feeds:   # none yet\n\n# the defaults\ndefaults:\n  interval: 5m\n"
    out = append_feed_entry(text, "https://n.example/", None)
    assert out == (
        'feeds:   # none yet\n  - url: "https://n.example/"\n\n'
        "# the defaults\ndefaults:\n  interval: 5m\n"
    )
    only_comments = "# my feeds\n# (none yet)\n"
    assert append_feed_entry(only_comments, "https://n.example/", None) == (
        only_comments + '\nfeeds:\n  - url: "https://n.example/"\n'
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://q.example/search?q=a: b #1",  # ": " and " #" would end a plain scalar
        'https://q.example/it\'s/"quoted"/back\\slash',
        "https://q.example/{a}[b],c&d=*e|f>g%20",  # flow indicators, anchors, block markers
        "https://q.example/" + "x" * 200,  # never folded onto a second line
    ],
)
def test_a_url_that_needs_quoting_round_trips(url: str) -> None:
    out = append_feed_entry(FEEDS, url, None)
    assert _urls(out)[-1] == url
    assert len(_only_inserted(FEEDS, out)) == 1
    assert remove_feed_entry(out, url) is not None
    assert _urls(remove_feed_entry(out, url) or "") == _urls(FEEDS)


def test_append_keeps_the_shipped_feeds_file_line_for_line() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    out = append_feed_entry(text, "https://n.example/rss", "New")
    assert _only_inserted(text, out) == ['  - url: "https://n.example/rss"', '    name: "New"']
    assert _urls(out) == [*_urls(text), "https://n.example/rss"]


def test_append_refuses_what_is_not_a_feeds_mapping() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        append_feed_entry("feeds: [\n", "https://n.example/", None)
    with pytest.raises(ConfigError, match="expected a mapping"):
        append_feed_entry("- a list\n", "https://n.example/", None)
    with pytest.raises(ConfigError, match="'feeds' must be a list"):
        append_feed_entry("feeds: https://a.example/\n", "https://n.example/", None)


# Removing -----------------------------------------------------------------------------------

ADMIN_FEEDS = """\
# my feeds
defaults:
  interval: 5m
feeds:
  - url: "https://a.example/rss"   # the first one
    name: A
    tags: [vn]
  - https://b.example/feed.xml
  - url: https://c.example/atom
"""


def test_remove_feed_entry_keeps_the_rest_and_the_comments() -> None:
    text = remove_feed_entry(ADMIN_FEEDS, "https://a.example/rss")
    assert text is not None
    assert "a.example" not in text
    assert "# my feeds" in text
    assert "https://b.example/feed.xml" in text
    assert "https://c.example/atom" in text
    assert remove_feed_entry(text, "https://b.example/feed.xml") == (
        "# my feeds\ndefaults:\n  interval: 5m\nfeeds:\n  - url: https://c.example/atom\n"
    )
    assert remove_feed_entry(ADMIN_FEEDS, "https://nowhere.example/") is None
    assert remove_feed_entry("defaults: {}\n", "https://a.example/rss") is None


SECTIONS = """\
feeds:
  # --- Vietnam ---
  - url: https://a.example/rss   # unverified
    # the English edition
    name: A News
    tags: [vietnam]

  - https://b.example/feed.xml   # short form

  # --- World ---
  - url: 'https://c.example/atom'
    tags:
      - world
    # full_text: true   (commented out, part of c)

# How often to poll.
defaults:
  interval: 10m
"""


def test_remove_a_feed_given_as_a_mapping_with_comments() -> None:
    out = remove_feed_entry(SECTIONS, "https://a.example/rss")
    assert out is not None
    assert _only_removed(SECTIONS, out) == [
        "  - url: https://a.example/rss   # unverified",
        "    # the English edition",
        "    name: A News",
        "    tags: [vietnam]",
        "",
    ]
    assert out.startswith("feeds:\n  # --- Vietnam ---\n  - https://b.example/feed.xml")


def test_remove_keeps_the_heading_of_the_next_feed_and_drops_blank_lines_after_it() -> None:
    out = remove_feed_entry(SECTIONS, "https://b.example/feed.xml")
    assert out is not None
    # Which of the two blank lines around b goes does not show in the text.
    assert sorted(_only_removed(SECTIONS, out)) == [
        "",
        "  - https://b.example/feed.xml   # short form",
    ]
    assert "    tags: [vietnam]\n\n  # --- World ---\n  - url: 'https://c.example/atom'" in out


def test_remove_the_last_feed_before_a_defaults_key() -> None:
    out = remove_feed_entry(SECTIONS, "https://c.example/atom")
    assert out is not None
    # c's commented-out key goes with it; the comment that heads "defaults:" stays.
    assert _only_removed(SECTIONS, out) == [
        "  - url: 'https://c.example/atom'",
        "    tags:",
        "      - world",
        "    # full_text: true   (commented out, part of c)",
        "",
    ]
    assert out.endswith("  # --- World ---\n# How often to poll.\ndefaults:\n  interval: 10m\n")
    assert parse_feeds_yaml(out, "feeds.yaml", 300).default_interval_s == 600


def test_remove_every_feed_leaves_an_empty_list_and_the_comments() -> None:
    out = SECTIONS
    for url in ("https://b.example/feed.xml", "https://a.example/rss", "https://c.example/atom"):
        out = remove_feed_entry(out, url) or ""
        assert url not in out
    assert _urls(out) == []
    assert out.startswith("feeds: []\n")
    for comment in ("# --- Vietnam ---", "# --- World ---", "# How often to poll."):
        assert comment in out
    assert parse_feeds_yaml(out, "feeds.yaml", 300).default_interval_s == 600


def test_remove_matches_the_url_however_it_is_quoted() -> None:
    text = "feeds:\n  - \"https://a.example/rss?x=1&y=2\"\n  - url: 'https://b.example/'\n"
    assert remove_feed_entry(text, "https://a.example/rss?x=1&y=2") == (
        "feeds:\n  - url: 'https://b.example/'\n"
    )
    assert remove_feed_entry(text, "https://b.example/") == (
        'feeds:\n  - "https://a.example/rss?x=1&y=2"\n'
    )


def test_remove_from_the_shipped_feeds_file_drops_only_that_feed() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    first = _urls(text)[0]
    out = remove_feed_entry(text, first)
    assert out is not None
    removed = _only_removed(text, out)
    assert removed[0].startswith(f"  - url: {first}")
    assert all(line.startswith("    ") for line in removed[1:])
    assert _urls(out) == _urls(text)[1:]


# Writing ------------------------------------------------------------------------------------


def test_write_file_atomically_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "config" / "feeds.yaml"
    write_file_atomically(path, "feeds: []\n")
    os.chmod(path, 0o640)
    write_file_atomically(path, "feeds:\n  - https://a.example/\n")
    assert path.read_text(encoding="utf-8") == "feeds:\n  - https://a.example/\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["feeds.yaml"]  # no temporary file left
