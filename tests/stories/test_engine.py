"""StoryIndex's contract: decisions, explanations, placing, and memory bounded by the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stories.engine import StoryIndex
from stories.features import extract
from stories.fold import fold, guess_lang

T0 = datetime(2025, 7, 11, 8, tzinfo=UTC)
RUBIO_EN = (
    "Deputy PM Bui Thanh Son meets US Secretary of State Marco Rubio in Kuala Lumpur",
    "Bui Thanh Son met Marco Rubio in Kuala Lumpur on July 11 ahead of the 30th anniversary.",
)
RUBIO_VI = (
    "Phó Thủ tướng Bùi Thanh Sơn gặp Ngoại trưởng Mỹ Marco Rubio",
    "Phó Thủ tướng Bùi Thanh Sơn gặp Ngoại trưởng Marco Rubio ngày 11/7 tại Kuala Lumpur, "
    "nhân dịp kỷ niệm 30 năm quan hệ ngoại giao.",
)
LAVROV_EN = (
    "Deputy PM Bui Thanh Son meets Russian Foreign Minister Sergey Lavrov in Kuala Lumpur",
    "Bui Thanh Son met Sergey Lavrov in Kuala Lumpur on July 11 on the ASEAN sidelines.",
)


def test_folding_makes_vietnamese_names_english_spellings() -> None:
    assert fold("Bùi Thanh Sơn, Biển Đông") == "bui thanh son, bien dong"
    names = extract(*RUBIO_VI, T0, "vi").names
    assert {"bui thanh son", "marco rubio", "kuala lumpur"} <= names


def test_a_vietnamese_report_joins_and_says_why() -> None:
    index = StoryIndex()
    first = index.add("a", *RUBIO_EN, T0, "en")
    second = index.add("b", *RUBIO_VI, T0 + timedelta(hours=2), "vi")
    assert (first.joined, first.story) == (False, "a")
    assert (second.joined, second.story, second.compared_with) == (True, "a", "a")
    assert "marco rubio" in second.signals["names"]  # type: ignore[operator]
    assert second.score > 0


def test_another_counterpart_the_same_day_founds_its_own_story() -> None:
    index = StoryIndex()
    index.add("a", *RUBIO_EN, T0, "en")
    lavrov = index.add("c", *LAVROV_EN, T0 + timedelta(hours=1), "en")
    assert (lavrov.joined, lavrov.story) == (False, "c")
    assert index.add("a", *RUBIO_EN, T0, "en").story == "a"  # the same id: its first story


def test_placed_articles_keep_their_story_and_the_window_frees_memory() -> None:
    index = StoryIndex(window=timedelta(days=1))
    index.place("x", "x", *RUBIO_EN, T0, "en")
    index.place("y", "y", *RUBIO_VI, T0, "vi")  # a split kept: y stays apart from x
    assert (index.story_of("x"), index.story_of("y")) == ("x", "y")
    later = T0 + timedelta(days=5)
    index.add("z", "Typhoon Wipha makes landfall", "Storm hits Nghe An.", later, "en")
    assert index.story_of("x") is None
    assert index.open_stories == 1


def test_forget_undoes_an_add_and_drops_a_story_it_founded_alone() -> None:
    index = StoryIndex()
    index.add("a", *RUBIO_EN, T0, "en")
    index.add("b", *RUBIO_VI, T0 + timedelta(hours=1), "vi")
    index.forget("b")
    assert index.story_of("b") is None
    assert index.story_of("a") == "a"
    index.forget("a")
    assert index.open_stories == 0
    # With "a" forgotten nothing is left to join: the Vietnamese report founds its own story.
    assert index.add("b", *RUBIO_VI, T0 + timedelta(hours=1), "vi").story == "b"


def test_a_split_article_founds_a_story_apart_and_leaves_the_old_founders() -> None:
    index = StoryIndex()
    index.add("a", *RUBIO_EN, T0, "en")
    index.add("b", *RUBIO_VI, T0 + timedelta(hours=1), "vi")
    index.split("b", "split:b", *RUBIO_VI, T0 + timedelta(hours=1), "vi")
    assert index.story_of("b") == "split:b"
    assert index.open_stories == 2
    # A third report is compared with both stories' founders and joins one of them; the split
    # article is no founder of "a" any more.
    third = index.add("c", *RUBIO_EN, T0 + timedelta(hours=2), "en")
    assert third.joined
    assert third.compared_with in {"a", "b"}
    assert not (third.story == "a" and third.compared_with == "b")


def test_language_is_guessed_from_vietnamese_only_letters() -> None:
    assert guess_lang(" ".join(RUBIO_VI)) == "vi"
    assert guess_lang(" ".join(RUBIO_EN)) == "en"
    assert guess_lang("Deputy PM Bùi Thanh Sơn meets Marco Rubio in Kuala Lumpur today") == "en"
    assert guess_lang("") == "en"


def test_a_second_report_in_the_same_feed_is_a_development_unless_a_copy() -> None:
    index = StoryIndex()
    index.add("a", *RUBIO_EN, T0, "en", "https://vna.example/rss")
    # The same feed again on the same meeting: a follow-up, its own story (and alert).
    follow = (
        "Son and Rubio agree to deepen Vietnam-US ties in Kuala Lumpur",
        "Bui Thanh Son and Marco Rubio agreed in Kuala Lumpur on July 11 to deepen ties ahead of "
        "the 30th anniversary.",
    )
    elsewhere = StoryIndex()
    elsewhere.add("a", *RUBIO_EN, T0, "en", "https://vna.example/rss")
    assert elsewhere.add("b", *follow, T0 + timedelta(hours=1), "en", "https://x.example").joined
    follow_up = index.add("b", *follow, T0 + timedelta(hours=1), "en", "https://vna.example/rss")
    assert follow_up.story == "b"
    # The same report from another feed joins, and a republished copy in the same feed too.
    other = index.add("c", *RUBIO_VI, T0 + timedelta(hours=1), "vi", "https://vnexpress.net/rss")
    assert other.joined  # (with "a" or its follow-up "b": both tell the meeting)
    copy = index.add("d", *RUBIO_EN, T0 + timedelta(hours=2), "en", "https://vna.example/rss")
    assert copy.joined
    assert copy.reason == "near-duplicate text"
