"""replies.py is the handlers' one way out: no other handler module sends or edits a message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bot.telegram.handlers

HANDLERS = Path(bot.telegram.handlers.__file__).parent
# Bot API methods (and their Message/CallbackQuery shortcuts) that put text in a chat.
SENDS = re.compile(r"^(reply_|send_|edit_message|copy_message|forward_message)")


def calls_that_send(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.name}:{node.lineno} {node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and SENDS.match(node.func.attr)
    ]


def test_only_replies_sends_or_edits_messages() -> None:
    modules = sorted(HANDLERS.glob("*.py"))
    assert len(modules) > 5
    assert calls_that_send(HANDLERS / "replies.py")  # the check finds what it looks for
    elsewhere = [c for m in modules if m.name != "replies.py" for c in calls_that_send(m)]
    assert elsewhere == []
