"""The shipped (English) rules fire on Vietnamese-language reports too (issue #13), through the
Vietnamese names in their aliases, and stay quiet where a Vietnamese word folds into an English
one ("Mỹ" is not "my")."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.rule_files import load_rules_dir
from core.models import Article
from rules import RuleSet

ROOT = Path(__file__).resolve().parents[2]

# Vietnamese reports written in the style of the outlets (VnExpress, Báo Quốc tế, VietnamPlus).
VIETNAMESE = {
    "son-rubio": (
        "Phó Thủ tướng Bùi Thanh Sơn hội kiến Ngoại trưởng Mỹ Marco Rubio",
        "Chiều 10/7 tại Kuala Lumpur, Phó Thủ tướng, Bộ trưởng Ngoại giao Bùi Thanh Sơn đã hội "
        "kiến Ngoại trưởng Hoa Kỳ Marco Rubio. Hai bên vui mừng trước những bước tiến trong quan "
        "hệ Đối tác Chiến lược Toàn diện Việt Nam - Hoa Kỳ. Về Biển Đông, Phó Thủ tướng đề nghị "
        "giải quyết tranh chấp bằng biện pháp hòa bình, trên cơ sở luật pháp quốc tế, đặc biệt "
        "là Công ước Liên hợp quốc về Luật Biển năm 1982.",
        {"csp", "east-sea", "vietnam-us"},
    ),
    "japan-korea": (
        "Việt Nam và Nhật Bản thúc đẩy hợp tác kinh tế",
        "Bộ trưởng Bùi Thanh Sơn gặp Bộ trưởng Ngoại giao Nhật Bản Iwaya Takeshi và Bộ trưởng "
        "Ngoại giao Hàn Quốc bên lề Hội nghị AMM-58.",
        {"vietnam-japan", "vietnam-korea"},
    ),
    "eu-uk-china": (
        "Việt Nam làm việc với Liên minh châu Âu, Vương quốc Anh và Trung Quốc",
        "Trong chuyến công tác, đoàn Việt Nam gặp đại diện Ủy ban châu Âu, Bộ Ngoại giao Vương "
        "quốc Anh và Bộ Ngoại giao Trung Quốc tại Bắc Kinh.",
        {"vietnam-eu", "vietnam-uk", "vietnam-china"},
    ),
    "typhoon": (
        "Bão số 3 đổ bộ vào Thanh Hóa, Nghệ An",
        "Bão số 3 gây mưa lớn ở các tỉnh miền Trung; người dân được sơ tán khỏi vùng nguy hiểm.",
        set(),
    ),
}

ENGLISH_MY = (
    "My week in Hanoi: notes from a street food tour",
    "My guide showed me the Old Quarter of Viet Nam's capital and its coffee shops.",
    set[str](),
)


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_rules_dir(ROOT / "config" / "rules")


def _fired(rules: RuleSet, title: str, text: str) -> set[str]:
    article = Article(feed_url="http://127.0.0.1/vi", identity=title, title=title, content=text)
    return {m.rule_id for m in rules.match(article)}


@pytest.mark.parametrize("name", sorted(VIETNAMESE))
def test_english_rules_fire_on_vietnamese_reports(shipped: RuleSet, name: str) -> None:
    title, text, expected = VIETNAMESE[name]
    assert _fired(shipped, title, text) == expected


def test_a_vietnamese_word_that_folds_into_an_english_one_does_not_fire(shipped: RuleSet) -> None:
    title, text, expected = ENGLISH_MY
    assert _fired(shipped, title, text) == expected
