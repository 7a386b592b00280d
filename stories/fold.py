"""Text folding shared by English and Vietnamese: diacritics off, lower case, words.

"Bùi Thanh Sơn" and "Bui Thanh Son" fold to the same words, which is what lets names, places,
dates and numbers carry across the two languages where other words do not. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from core.language import VI_SHARE, guess_lang

_WORD_RE: Final = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)
# đ/Đ do not decompose under NFKD: they are letters of their own.
_LETTERS: Final = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "ł": "l", "Ł": "L", "ø": "o"})


@lru_cache(maxsize=65536)
def fold_word(word: str) -> str:
    """One word without diacritics, lower-cased ("Sơn" -> "son", "Đông" -> "dong")."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold(text: str) -> str:
    """The whole text folded (diacritics off, lower case); punctuation is kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The text's words as written (letters runs and numbers), in order."""
    return _WORD_RE.findall(text)


def folded_words(text: str) -> list[str]:
    """The text's words, folded."""
    return [fold_word(w) for w in _WORD_RE.findall(text)]


def fold_keep_case(text: str) -> str:
    """The text without diacritics, case kept ("Bùi Thanh Sơn" -> "Bui Thanh Son")."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# The detector lives in core (ingest stores an article's language with it); re-exported here for
# the stories engine, which used it first.
__all__ = ["VI_SHARE", "fold", "fold_keep_case", "fold_word", "folded_words", "guess_lang", "words"]
