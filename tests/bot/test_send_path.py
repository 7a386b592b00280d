"""One send path: no code outside ``bot/delivery`` calls a Bot API method that sends or edits a
message. The names come from python-telegram-bot itself (``Bot``, and the ``Message`` and
``CallbackQuery`` shortcuts), so a method PTB adds later is covered too."""

from __future__ import annotations

import ast
from pathlib import Path

from telegram import Bot, CallbackQuery, Chat, Message, User

ROOT = Path(__file__).resolve().parents[2]
# The pure core (core, rules, stories) may not import telegram (tests/test_architecture.py), so
# it holds no Bot or Message to send with; its ``set.copy()`` is not ``Message.copy()``.
PACKAGES = ("bot", "storage", "watchers")
ALLOWED = ROOT / "bot" / "delivery" / "telegram_sink.py"
_SENDING = ("send", "edit", "copy", "forward", "reply")


def sending_names() -> set[str]:
    names: set[str] = set()
    for cls in (Bot, Message, CallbackQuery, Chat, User):
        for name in dir(cls):
            if name.startswith("_"):
                continue
            if name.lower().startswith(_SENDING):
                names.add(name)
    return names


def calls_that_send(path: Path, names: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in names
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.func.attr}(")
    return found


def test_the_names_cover_what_the_bot_sends_with() -> None:
    names = sending_names()
    for name in ("send_message", "sendMessage", "edit_message_text", "reply_text", "send_photo"):
        assert name in names
    assert "get_chat_member" not in names
    assert "answer" not in names  # answering a callback query sends no message


def test_only_the_delivery_sink_calls_send_or_edit_methods() -> None:
    names = sending_names()
    offenders = [
        call
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ALLOWED
        for call in calls_that_send(path, names)
    ]
    assert offenders == []
    # the check finds what it looks for
    assert calls_that_send(ALLOWED, names)
