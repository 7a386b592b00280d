"""Alert formatting: seed articles, hostile feed content, and Telegram's own HTML rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.delivery.alert_format import format_alert, rule_tags, shorten
from core.models import Article, Hit, Language, Priority, RenderedMessage, RuleInfo, RuleMatch
from tests.fakes.telegram_html import parse_html, utf16_len

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PUBLISHED = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)
_SEED_DIRS = (Path(__file__).resolve().parents[2] / "data" / "seeds", Path("/work/shared/seeds"))
RULES = {
    "csp": RuleInfo(id="csp", name="Comprehensive Strategic Partnership"),
    "unclos": RuleInfo(id="unclos", name="UNCLOS", priority=Priority.HIGH),
}


def seed_articles() -> list[Article]:
    folder = next(d for d in _SEED_DIRS if d.is_dir())
    articles = []
    for path in sorted(folder.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        articles.append(
            Article(
                feed_url="https://en.vietnamplus.vn/rss/news.rss",
                identity=f"link:{path.stem}",
                title=title.strip(),
                link=f"https://en.vietnamplus.vn/{path.stem}.vnp",
                content=body,
                published_at=PUBLISHED,
                feed_name="VietnamPlus",
            )
        )
    return articles


def hits_for(article: Article, term: str, field: str = "content") -> tuple[Hit, ...]:
    text = article.text_fields[field]
    return tuple(
        Hit(term, field, m.start(), m.end())
        for m in re.finditer(re.escape(term), text, flags=re.IGNORECASE)
    )


def assert_valid_telegram(message: RenderedMessage) -> str:
    """The HTML parses the way Telegram parses it, within the limit; returns the parsed text."""
    parsed = parse_html(message.html)
    assert 0 < utf16_len(parsed.text) <= 4096
    return parsed.text


def test_seed_article_alert_has_every_part() -> None:
    article = seed_articles()[0]
    hits = hits_for(article, "Comprehensive Strategic Partnership")
    assert hits, "the seed mentions the rule"
    message = format_alert(article, [RuleMatch("csp", hits)], RULES, HCM)
    lines = message.html.split("\n")
    assert lines[0] == (
        f'<b><a href="{article.link}">Vietnamese Deputy PM, FM meets with US, EC, UK officials '
        "in Malaysia</a></b>"
    )
    assert lines[1] == "VietnamPlus · 11 Jul 2025 19:00 +07"
    assert lines[2] == "#csp"
    assert "<b>Comprehensive Strategic Partnership</b>" in lines[3]
    assert lines[-1] == f'<a href="{article.link}">{article.link}</a>'
    assert message.disable_notification is True
    assert assert_valid_telegram(message) == message.plain
    sentences = re.split(r"(?<=[.!?])\s+", lines[3])
    assert 1 <= len(sentences) <= 3


@pytest.mark.parametrize("index", range(5))
def test_every_seed_article_formats_validly(index: int) -> None:
    articles = seed_articles()
    article = articles[index % len(articles)]
    matches = [
        RuleMatch("csp", hits_for(article, "strategic partnership")),
        RuleMatch("unclos", hits_for(article, "UNCLOS") + hits_for(article, "East Sea")),
    ]
    message = format_alert(article, matches, RULES, HCM)
    assert assert_valid_telegram(message) == message.plain
    assert message.disable_notification is False  # unclos is high priority


def test_hostile_title_and_summary_are_escaped() -> None:
    title = "<script>alert('x')</script> Tom & Jerry <b>bold</b> 5 < 6 &amp; </a>"
    summary = "Price <$100> & rising. <i>Really</i>? Yes &lt;no&gt;."
    article = Article(
        feed_url="https://feed.example/rss",
        identity="guid:1",
        title=title,
        link='https://news.example/a?x=1&y="2"\'<>',
        summary=summary,
    )
    hit = Hit("rising", "summary", summary.index("rising"), summary.index("rising") + 6)
    message = format_alert(article, [RuleMatch("r1", (hit,))], {}, HCM)
    parsed = parse_html(message.html)
    assert parsed.text.startswith(title)
    assert "Price <$100> & <rising>. <i>Really</i>?".replace("<rising>", "rising") in parsed.text
    links = [e["url"] for e in parsed.entities if e["type"] == "text_link"]
    assert links == [article.link, article.link]
    bold = [
        parsed.text[e["offset"] : e["offset"] + e["length"]]
        for e in parsed.entities
        if e["type"] == "bold"
    ]
    assert "rising" in bold
    assert "<script>" not in message.html


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,x", "https://", "http://a b.com/", None]
)
def test_unsafe_links_are_not_linked(link: str | None) -> None:
    article = Article(feed_url="https://feed.example/rss", identity="x", title="T", link=link)
    message = format_alert(article, [RuleMatch("r", ())], {}, HCM)
    assert "<a " not in message.html
    assert message.html.startswith("<b>T</b>")
    assert "feed.example" in message.plain  # the source falls back to the feed's host
    assert_valid_telegram(message)


def test_very_long_parts_are_cut_at_a_word_boundary_within_the_limit() -> None:
    title = " ".join(["Incrediblylongword"] * 2000)
    content = (
        ("Filler words go here without end " * 3000)
        + "The SECRET term is here. "
        + ("More filler follows " * 3000)
    )
    start = content.index("SECRET")
    article = Article(
        feed_url="https://feed.example/rss",
        identity="x",
        title=title,
        link="https://news.example/" + "p" * 5000,
        content=content,
    )
    hit = Hit("secret", "content", start, start + 6)
    message = format_alert(article, [RuleMatch("r", (hit,))], {}, HCM)
    text = assert_valid_telegram(message)
    first_line = text.split("\n")[0]
    assert len(first_line) <= 300
    assert first_line.endswith("Incrediblylongword…")
    assert "<b>SECRET</b>" in message.html
    assert len(text) < 2000


def test_hits_far_into_a_long_sentence_stay_visible() -> None:
    content = "word " * 5000 + "needle " + "word " * 5000
    start = content.index("needle")
    article = Article(feed_url="https://f.example/", identity="x", title="T", content=content)
    message = format_alert(
        article, [RuleMatch("r", (Hit("needle", "content", start, start + 6),))], {}, HCM
    )
    assert "<b>needle</b>" in message.html
    snippet = message.html.split("\n")[-1]
    assert snippet.startswith("…")
    assert snippet.endswith("…")


def test_rtl_text_is_isolated_and_emoji_offsets_bold_the_right_word() -> None:
    title = "שלום עולם — مرحبا بالعالم"
    summary = "🙂🙂 Vietnam 🇻🇳 and the Comprehensive Strategic Partnership 🤝 grow."
    start = summary.index("Comprehensive")
    hit = Hit("csp", "summary", start, start + len("Comprehensive Strategic Partnership"))
    article = Article(
        feed_url="https://f.example/",
        identity="x",
        title=title,
        summary=summary,
        link="https://f.example/a",
    )
    message = format_alert(article, [RuleMatch("csp", (hit,))], RULES, HCM)
    assert f"\u2068{title}\u2069" in message.plain
    parsed = parse_html(message.html)
    bold = [e for e in parsed.entities if e["type"] == "bold" and e["offset"] > 0]
    assert len(bold) == 1
    # entity offsets are UTF-16: map back through the encoded text
    encoded = parsed.text.encode("utf-16-le")
    b = bold[0]
    word = encoded[2 * b["offset"] : 2 * (b["offset"] + b["length"])].decode("utf-16-le")
    assert word == "Comprehensive Strategic Partnership"


def test_tags_are_sanitised_and_deduplicated() -> None:
    assert rule_tags(["a<b>c", "123", "x y-z", "x_y_z", "", "<>", "việt-nam"]) == [
        "#a_b_c",
        "#r123",
        "#x_y_z",
        "#việt_nam",
    ]
    many = rule_tags([f"rule{i}" for i in range(20)])
    assert many[-1] == "+8"
    assert len(many) == 13


def test_bad_hit_offsets_are_ignored_and_overlaps_merged() -> None:
    summary = "Alpha beta gamma."
    article = Article(feed_url="https://f.example/", identity="x", title="T", summary=summary)
    matches = [
        RuleMatch("a", (Hit("x", "summary", -1, 3), Hit("x", "summary", 5, 999))),
        RuleMatch("b", (Hit("ab", "summary", 0, 8), Hit("bg", "summary", 6, 10))),
    ]
    message = format_alert(article, matches, {}, HCM)
    assert message.html.split("\n")[-1] == "<b>Alpha beta</b> gamma."


def test_title_only_hits_show_the_summary_opening_without_bold() -> None:
    article = Article(
        feed_url="https://f.example/",
        identity="x",
        title="UNCLOS at 30",
        summary="First sentence. Second sentence. Third sentence. Fourth sentence.",
    )
    message = format_alert(
        article, [RuleMatch("unclos", (Hit("unclos", "title", 0, 6),))], RULES, HCM
    )
    assert message.html.split("\n")[-1].startswith("First sentence.")
    assert message.html.count("<b>") == 1  # the title only
    assert message.disable_notification is False
    assert "❗ #unclos" in message.plain


def test_shorten_never_exceeds_its_limit() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("one two three four", 10) == "one two…"
    assert len(shorten("x" * 50, 10)) == 10


_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=3000)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_text, summary=_text, content=_text, data=st.data())
def test_any_feed_text_gives_valid_html_within_the_limit(
    title: str, summary: str, content: str, data: st.DataObject
) -> None:
    hits = []
    for field, text in (("title", title), ("summary", summary), ("content", content)):
        if text:
            start = data.draw(st.integers(0, len(text) - 1))
            end = data.draw(st.integers(start + 1, len(text)))
            hits.append(Hit("t", field, start, end))
    article = Article(
        feed_url="https://f.example/",
        identity="x",
        title=title,
        summary=summary,
        content=content,
        link="https://f.example/" + title[:50],
        published_at=datetime(2025, 7, 11, 12, 0, tzinfo=UTC),
    )
    # in either language, as an alert or as its edit (#16: the bot's words are catalogued)
    language = data.draw(st.sampled_from([None, Language.VI]))
    updated = data.draw(st.booleans())
    message = format_alert(
        article, [RuleMatch("r", tuple(hits))], {}, HCM, updated=updated, language=language
    )
    assert_valid_telegram(message)
