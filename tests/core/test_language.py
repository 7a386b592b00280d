"""An article's language: Vietnamese by its Vietnamese-only letters, else English."""

from __future__ import annotations

from core.language import article_language, guess_lang
from core.models import Language


def test_vietnamese_and_english() -> None:
    assert guess_lang("Bộ Ngoại giao lên tiếng về Biển Đông") is Language.VI
    assert guess_lang("Deputy PM Bùi Thanh Sơn meets Marco Rubio in Kuala Lumpur") is Language.EN
    assert guess_lang("") is Language.EN


def test_an_article_is_judged_by_its_headline_and_its_longer_text() -> None:
    vi_text = "Bộ trưởng Ngoại giao Việt Nam phát biểu tại hội nghị về hợp tác biển."
    assert article_language("Minister speaks", "", vi_text) is Language.VI
    assert article_language("Minister speaks", vi_text, "short") is Language.VI
    assert article_language("Minister speaks", "short", "An English report") is Language.EN
