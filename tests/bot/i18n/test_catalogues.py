"""The catalogues agree with one another: every key in both languages, with the same
placeholders, and each key in one area only."""

from __future__ import annotations

import string
from collections import Counter

from bot.i18n import AREAS, EN, VI, text
from core.models import Language


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_is_in_both_languages_with_the_same_placeholders() -> None:
    assert set(EN) == set(VI)
    mismatched = [k for k in EN if _placeholders(EN[k]) != _placeholders(VI[k])]
    assert mismatched == []


def test_a_key_lives_in_one_area_only() -> None:
    counts = Counter(k for area in AREAS for k in area.EN)
    assert [k for k, n in counts.items() if n > 1] == []


def test_text_falls_back_to_english_and_fills_values() -> None:
    assert text(None, "unknown", word="/x") == text(Language.EN, "unknown", word="/x")
    assert "/x" in text(Language.VI, "unknown", word="/x")
