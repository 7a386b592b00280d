"""StoryIndex's contract: decisions, explanations, placing, and memory bounded by the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stories.engine import StoryIndex
from stories.features import extract
from stories.fold import fold

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
