"""Which language an article is written in: Vietnamese or English, from its letters.

One small pure function shared by the stories engine (can two reports share words, or only
names and numbers?) and ingest (``articles.language``, the console's language filter). It
does not call any detection library and knows only these two languages: everything that is
not Vietnamese counts as English.
"""

from __future__ import annotations

from typing import Final

# The same two values as a chat's language (``core.models.Language``): one enum for both.
from core.models import Language

# Letters only Vietnamese uses (breve, circumflex, horn, đ, dot below, hook above): an English
# report quoting "Bùi Thanh Sơn" has a handful, a Vietnamese one has them in most words.
_VI_LETTERS: Final = frozenset(
    "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
    "ĂÂĐÊÔƠƯẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ"
)
VI_SHARE: Final = 0.03
SAMPLE_CHARS: Final = 2000  # the first characters decide: enough letters, bounded cost


def guess_lang(text: str) -> Language:
    """``Language.VI`` when at least ``VI_SHARE`` of the letters among the first
    ``SAMPLE_CHARS`` characters of ``text`` are Vietnamese-only ones, else ``Language.EN``.
    Feeds rarely say their language reliably; this is enough for the grouping and for a filter."""
    letters = vi = 0
    for c in text[:SAMPLE_CHARS]:
        if c.isalpha():
            letters += 1
            vi += c in _VI_LETTERS
    return Language.VI if letters and vi / letters >= VI_SHARE else Language.EN


def article_language(title: str, summary: str, content: str) -> Language:
    """The language of an article from its headline and its longer text (content or summary),
    as the stories engine reads it."""
    text = content if len(content) > len(summary) else summary
    return guess_lang(f"{title} {text}")
