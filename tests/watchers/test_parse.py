"""parse_feed and the identity rules: guids, links, hashes, edits, encodings, hostile input."""

from __future__ import annotations

import resource
import time

import pytest

from core.errors import FeedError
from tests.support.seeds import Seed, rss2
from watchers.parse import parse_feed
from watchers.text import article_identity, html_to_text, link_key, strip_tracking

FEED = "https://news.example.com/feed.xml"


def _rss(items: str, encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>T</title>{items}</channel></rss>"
    ).encode(encoding)


def test_tuned_and_default_feedparser_give_the_same_articles(seeds: list[Seed]) -> None:
    body = rss2(seeds).encode()
    tuned = parse_feed(body, FEED, "application/rss+xml")
    default = parse_feed(body, FEED, "application/rss+xml", tuned=False)
    assert tuned.items == default.items
    assert len(tuned.items) == len(seeds)


def test_no_guid_falls_back_to_the_normalised_link_then_to_a_hash() -> None:
    body = _rss(
        "<item><title>A</title><link>http://www.Site.example/a?utm_source=x&amp;b=2&amp;a=1</link>"
        "</item><item><title>B</title><description>text only</description></item>"
    )
    a, b = parse_feed(body, FEED).items
    assert a.identity == "link:https://site.example/a?a=1&b=2"
    assert a.link == "http://www.Site.example/a?b=2&a=1"
    assert b.identity.startswith("hash:")
    assert len(b.identity) == len("hash:") + 64


def test_changing_guid_keeps_link_key_and_title(seeds: list[Seed]) -> None:
    first = parse_feed(rss2(seeds, guid_prefix="v1-").encode(), FEED).items
    second = parse_feed(rss2(seeds, guid_prefix="v2-").encode(), FEED).items
    for a, b in zip(first, second, strict=True):
        assert a.identity != b.identity  # the guid changed ...
        assert (a.link_key, a.title) == (b.link_key, b.title)  # ... storage sees the same story


def test_the_same_story_from_two_feeds_has_one_identity() -> None:
    item_a = (
        "<item><title>Story</title><link>https://outlet.example/s/1?utm_source=politics</link>"
        "<guid>https://outlet.example/s/1</guid></item>"
    )
    item_b = (
        "<item><title>Story (world)</title><link>https://outlet.example/s/1?utm_source=world</link>"
        "<guid>https://outlet.example/s/1</guid></item>"
    )
    (a,) = parse_feed(_rss(item_a), "https://outlet.example/rss/politics.rss").items
    (b,) = parse_feed(_rss(item_b), "https://outlet.example/rss/world.rss").items
    assert a.identity == b.identity == "guid:https://outlet.example/s/1"
    no_guid_a = (
        "<item><title>S</title><link>https://outlet.example/s/2?utm_medium=rss</link></item>"
    )
    no_guid_b = "<item><title>S</title><link>http://www.outlet.example/s/2#comments</link></item>"
    (c,) = parse_feed(_rss(no_guid_a), "https://outlet.example/rss/a.rss").items
    (d,) = parse_feed(_rss(no_guid_b), "https://other.example/rss.xml").items
    assert c.identity == d.identity == "link:https://outlet.example/s/2"


def test_bare_guids_are_scoped_by_site() -> None:
    item = "<item><title>X</title><guid isPermaLink='false'>1001</guid></item>"
    (a,) = parse_feed(_rss(item), "https://one.example/rss").items
    (b,) = parse_feed(_rss(item), "https://www.two.example/rss").items
    (c,) = parse_feed(_rss(item), "https://one.example/other-section.rss").items
    assert a.identity == "guid:one.example#1001"
    assert b.identity == "guid:two.example#1001"
    assert c.identity == a.identity


def test_an_edited_item_keeps_its_identity_with_new_text(seeds: list[Seed]) -> None:
    before = parse_feed(rss2(seeds[:1]).encode(), FEED).items[0]
    edited = [Seed(seeds[0].slug, seeds[0].title + " (updated)", "A corrected lead.", "New body")]
    after = parse_feed(rss2(edited).encode(), FEED).items[0]
    assert after.identity == before.identity
    assert after.title != before.title
    assert after.summary == "A corrected lead."


def test_missing_dates_are_left_for_the_poller() -> None:
    (a,) = parse_feed(
        _rss("<item><title>A</title><link>https://x.example/a</link></item>"), FEED
    ).items
    assert a.published_at is None


def test_ttl_is_read_in_seconds(seeds: list[Seed]) -> None:
    assert parse_feed(rss2(seeds, ttl=30).encode(), FEED).ttl_s == 1800.0


def test_utf16_and_broken_bytes_do_not_crash() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>Ư</title>'
        "<item><title>Hạ Long</title><link>https://x.example/1</link></item></channel></rss>"
    )
    (a,) = parse_feed(text.encode("utf-16"), FEED, "application/xml").items
    assert a.title == "Hạ Long"
    broken = _rss("<item><title>Bad \xff\xfe bytes</title><link>https://x.example/2</link></item>")
    broken = broken.replace(b"Bad", b"Bad \xc3\x28 \xed\xa0\x80")
    parsed = parse_feed(broken, FEED, "application/rss+xml; charset=utf-8")
    assert parsed.bozo is not None
    assert parsed.items[0].link == "https://x.example/2"


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00\x01\x02garbage", b"<html><body><p>Just a page</p></body></html>", b"{}"],
)
def test_non_feeds_are_recognised(body: bytes) -> None:
    parsed = parse_feed(body, FEED, "text/html")
    assert not parsed.looks_like_feed
    assert parsed.items == []


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "' % i + (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10 + b'">\n'
        for i in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title>'
    b"<item><title>&lol9;</title></item></channel></rss>"
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + b"A" * 200_000
    + b'">]><rss version="2.0"><channel><title>x</title><item><description>'
    + b"&a;" * 50_000
    + b"</description></item></channel></rss>"
)


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic"])
def test_entity_expansion_bombs_fail_fast_with_bounded_memory(bomb: bytes) -> None:
    before = _peak_rss_kib()
    started = time.perf_counter()
    with pytest.raises(FeedError, match="declares XML entities"):
        parse_feed(bomb, FEED, "application/rss+xml")
    assert time.perf_counter() - started < 1.0
    assert _peak_rss_kib() - before < 50 * 1024  # expanded, these would need gigabytes


def test_entity_bomb_in_utf16_is_refused_too() -> None:
    with pytest.raises(FeedError):
        parse_feed(BILLION_LAUGHS.decode().encode("utf-16"), FEED, "application/xml")


def test_a_doctype_without_entities_is_fine() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<title>Old</title><item><title>x</title><link>https://o.example/x</link></item>"
        b"</channel></rss>"
    )
    assert len(parse_feed(body, FEED).items) == 1


def test_html_to_text_cleans_markup_entities_and_space() -> None:
    raw = (
        "<div><p>Hello&nbsp;&amp;amp; <b>world</b></p><script>var x='<p>';</script>"
        "<style>p{}</style><!-- c --><p>Line\t two &#8217;s</p><br/>end</div>"
    )
    assert html_to_text(raw) == "Hello & world\nLine two ’s\nend"
    assert html_to_text("5 < 6 and 7 > 3") == "5 < 6 and 7 > 3"
    assert html_to_text(None) == ""


def test_strip_tracking_and_link_key() -> None:
    url = "https://Ex.example/p?id=5&utm_source=a&fbclid=b&gclid=c&mc_cid=d&keep=1#frag"
    assert strip_tracking(url) == "https://Ex.example/p?id=5&keep=1#frag"
    assert link_key(url) == "https://ex.example/p?id=5&keep=1"
    assert link_key("http://www.ex.example:80") == "https://ex.example/"
    assert link_key("mailto:a@b") is None
    assert article_identity(None, None, "t", "c", FEED) == article_identity(
        None, None, "t", "c", "x"
    )


@pytest.mark.parametrize(
    "raw",
    [
        "https://Ex.example/p?id=5&utm_source=a&keep=1#frag",
        "http://www.ex.example:8080/a/b?b=2&a=1&fbclid=x",
        "/relative/path?utm_medium=rss",
        "https://ex.example",
        "https://ex.example/p?flag&utm_campaign=z",
    ],
)
def test_clean_link_agrees_with_link_key(raw: str) -> None:
    from urllib.parse import urljoin

    from watchers.text import clean_link

    link, key = clean_link(raw, "https://base.example/feed.xml")
    absolute = urljoin("https://base.example/feed.xml", raw)
    assert key == link_key(absolute)
    assert link is not None
    assert "utm_" not in link
    assert "fbclid" not in link
    assert link_key(link) == key


def test_plain_text_titles_keep_words_in_angle_brackets() -> None:
    # Issue #16: "History of the <blink> tag" lost "<blink>".
    body = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>History of the &lt;blink&gt; tag</title><link>https://a.example/1</link></item>"
        b"<item><title>&lt;b&gt;Breaking&lt;/b&gt; news</title><link>https://a.example/2</link></item>"
        b"</channel></rss>"
    )
    parsed = parse_feed(body, "https://a.example/rss", "application/rss+xml")
    assert [a.title for a in parsed.items] == ["History of the <blink> tag", "Breaking news"]
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<entry><title type="html">&lt;i&gt;Styled&lt;/i&gt; title</title><id>x</id>'
        b'<link href="https://a.example/3"/></entry></feed>'
    )
    [item] = parse_feed(atom, "https://a.example/atom", "application/atom+xml").items
    assert item.title == "Styled title"


def test_amp_and_mobile_variants_share_the_canonical_link_key() -> None:
    canonical = link_key("https://vietnamnet.vn/en/vietnam-us-talks-2421.html")
    assert canonical == "https://vietnamnet.vn/en/vietnam-us-talks-2421.html"
    for variant in (
        "http://m.vietnamnet.vn/en/vietnam-us-talks-2421.html",
        "https://amp.vietnamnet.vn/en/vietnam-us-talks-2421.html",
        "https://www.vietnamnet.vn/en/vietnam-us-talks-2421.amp.html",
        "https://vietnamnet.vn/en/vietnam-us-talks-2421.html/amp",
        "https://vietnamnet.vn/en/vietnam-us-talks-2421.html/?amp=1&utm_source=fb",
        "https://vietnamnet.vn/amp/en/vietnam-us-talks-2421.html?outputType=amp",
    ):
        assert link_key(variant) == canonical, variant
    # Not an edition prefix: a two-label host keeps its name; other query parameters stay.
    assert link_key("https://m.me/x") == "https://m.me/x"
    assert link_key("https://site.example/a?id=2&output=json") != link_key("https://site.example/a")


def test_clean_link_keeps_the_published_link_and_folds_the_key() -> None:
    from watchers.text import clean_link

    link, key = clean_link("https://m.site.example/a/amp?utm_medium=rss&amp=1", "https://x/")
    assert link == "https://m.site.example/a/amp?amp=1"
    assert key == link_key("https://site.example/a") == "https://site.example/a"
