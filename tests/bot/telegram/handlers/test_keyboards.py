"""The shared keyboard helpers: callback data, the chosen mark, page navigation, empty rows."""

from __future__ import annotations

import pytest

from bot.telegram.handlers.keyboards import button, checked, keyboard, nav_row


def test_button_joins_its_data_and_refuses_what_telegram_would() -> None:
    assert button("Next ▶", "p", 2).callback_data == "p:2"
    assert button("↺ Defaults", "st", "reset", "").callback_data == "st:reset:"
    with pytest.raises(ValueError, match="64 bytes"):
        button("too much", "s", "x" * 70, 0)


def test_checked_marks_only_the_chosen_value() -> None:
    assert checked("UTC", True) == "✓ UTC"
    assert checked("UTC", False) == "UTC"


def test_nav_row_offers_only_the_pages_there_are() -> None:
    def data(n: int) -> tuple[str, int]:
        return ("p", n)

    assert nav_row(0, 1, "◀", "▶", data) == []
    assert [b.callback_data for b in nav_row(0, 3, "◀", "▶", data)] == ["p:1"]
    assert [b.callback_data for b in nav_row(1, 3, "◀", "▶", data)] == ["p:0", "p:2"]
    assert [b.callback_data for b in nav_row(2, 3, "◀", "▶", data)] == ["p:1"]


def test_keyboard_drops_empty_rows_and_is_none_without_buttons() -> None:
    assert keyboard([[], []]) is None
    markup = keyboard([[button("a", "x")], []])
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["a"]]
