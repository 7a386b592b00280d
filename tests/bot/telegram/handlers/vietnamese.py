"""Is a reply the Vietnamese one? For the tests that drive a flow in an English chat and the
same flow in a Vietnamese chat: each pair of replies must differ, and no sentence of the
English catalogues (any area of ``bot.i18n``) may be left in the Vietnamese reply.

A catalogue sentence counts here as each literal piece of an English template (split at its
placeholders and HTML tags) that has a word of three letters or more and is not also part of a
Vietnamese template (commands, setting names and "OPML" are the same in both).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.i18n import EN, VI
from core.models import ChatSettings, Language
from tests.bot.telegram.harness import RunningBot


def _english_pieces() -> tuple[str, ...]:
    vietnamese = "\n".join(VI.values())
    pieces: set[str] = set()
    for template in EN.values():
        for literal in re.split(r"\{[^}]*\}", template):
            for piece in re.split(r"<[^>]+>|\n", literal):
                piece = piece.strip(" .,:;()“”\"'•—-")
                if re.search(r"[A-Za-z]{3,}", piece) and piece not in vietnamese:
                    pieces.add(piece)
    return tuple(sorted(pieces, key=len, reverse=True))


ENGLISH_PIECES = _english_pieces()


def english_left(reply: str) -> list[str]:
    """The English catalogue pieces found in ``reply`` (as whole words)."""
    return [p for p in ENGLISH_PIECES if re.search(rf"(?<![\w/]){re.escape(p)}(?!\w)", reply)]


def assert_translated(english: Sequence[str], vietnamese: Sequence[str]) -> None:
    """The same flow's replies, in order: each pair differs and the Vietnamese one has no
    English catalogue sentence left (while the check does find some in the English one, so that
    it is not vacuous)."""
    assert len(english) == len(vietnamese)
    for en, vi in zip(english, vietnamese, strict=True):
        assert en != vi, en
        assert english_left(en) != [], en
        assert english_left(vi) == [], vi


def speak_vietnamese(rb: RunningBot, *chat_ids: int) -> None:
    """Set these chats to Vietnamese, as the /settings button does (in memory is enough: the
    handlers read ``chat_prefs``)."""
    for chat_id in chat_ids:
        rb.services.chat_prefs.put(chat_id, ChatSettings(language=Language.VI))
