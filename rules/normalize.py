"""Text normalisation shared by rule terms and article text: the definition of "same word".

Both sides go through the same per-character fold, so matching is symmetric:

* NFKC, then case folding, then NFKD with combining marks dropped ("Bùi Thanh Sơn" and
  "Bui Thanh Son" are the same words, both ways); a few letters that carry no combining mark
  are folded by hand ("Đà Nẵng" is "da nang", "ø" is "o").
* Letters and digits are word characters. Emoji, other symbols (Unicode So/Sk), format and
  zero-width characters (Cf), private-use and unassigned code points are *removed without
  breaking the word* ("Affair🧔s" is "affairs"). Everything else (spaces, punctuation, all
  quote and dash forms, ASCII symbols) separates words, so curly and straight apostrophes are
  the same, "Vietnam–US" is "vietnam us" and line breaks are just spaces.
* A simple plural folds to its singular ("partnerships" -> "partnership", "policies" ->
  "policy", "matches" -> "match"), with a short list of words that only look plural ("news").

Two implementations of the same fold live here and must agree token for token (a property
test checks it): ``fast_tokens`` for scanning (ASCII fast path, str.translate, non-ASCII runs
folded through a cache) and ``tokens_with_spans`` which also returns each token's offsets in
the original text (used only for the few fields whose hits must be reported).

Does no I/O and knows nothing about rules.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = [
    "Token",
    "case_key",
    "case_matches",
    "fast_tokens",
    "fold_char",
    "fold_plural",
    "normalize_words",
    "tokens_with_spans",
]

# Letters without a combining mark that readers still consider "the same letter".
_LETTER_FOLDS = {
    "đ": "d",
    "ð": "d",
    "ø": "o",
    "ł": "l",
    "ħ": "h",
    "ı": "i",
    "ŧ": "t",
    "æ": "ae",
    "œ": "oe",
    "ƀ": "b",
    "ɨ": "i",
}
_CASE_LETTER_FOLDS = {
    **_LETTER_FOLDS,
    "Đ": "D",
    "Ð": "D",
    "Ø": "O",
    "Ł": "L",
    "Ħ": "H",
    "Ŧ": "T",
    "Æ": "AE",
    "Œ": "OE",
}
# Removed without breaking the word they sit in.
_DROP_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf", "So", "Sk", "Co", "Cn"})
# Words that end in "s" but are not plurals of a shorter word worth folding to.
_NOT_PLURAL = frozenset(
    {"news", "always", "perhaps", "whereas", "towards", "afterwards", "besides", "sometimes"}
    | {"does", "yes", "lens", "thanks", "diabetes", "mathematics", "physics", "economics"}
)
_PLURAL_ES = ("sses", "xes", "zes", "ches", "shes")

# ASCII: letters and digits are words (lower-cased), everything else separates.
_ASCII_FOLD = [chr(i).lower() if chr(i).isalnum() else " " for i in range(128)]
_ASCII_TABLE = {i: _ASCII_FOLD[i] for i in range(128) if _ASCII_FOLD[i] != chr(i)}
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


def _fold_one(c: str, casefold: bool) -> str:
    out: list[str] = []
    folds = _LETTER_FOLDS if casefold else _CASE_LETTER_FOLDS
    text = unicodedata.normalize("NFKC", c)
    if casefold:
        text = text.casefold()
    for d in unicodedata.normalize("NFKD", text):
        if d < "\x80":
            out.append(d.lower() if casefold and d.isalnum() else (d if d.isalnum() else " "))
            continue
        d = folds.get(d, d)
        cat = unicodedata.category(d[0])
        if cat[0] in "LN":
            out.append(d)
        elif cat not in _DROP_CATEGORIES:
            out.append(" ")
    return "".join(out)


_FOLD_CACHE: dict[str, str] = {}


def fold_char(c: str) -> str:
    """The normalised form of one character: word characters, " " (a separator) or "" (dropped).

    The output may hold several characters ("ß" -> "ss", "½" -> "1 2").
    """
    if c < "\x80":
        return _ASCII_FOLD[ord(c)]
    folded = _FOLD_CACHE.get(c)
    if folded is None:
        folded = _fold_one(c, casefold=True)
        if len(_FOLD_CACHE) < 200_000:
            _FOLD_CACHE[c] = folded
    return folded


def fold_plural(word: str) -> str:
    """Fold a simple English plural to its singular; other words are returned unchanged."""
    if len(word) < 4 or word[-1] != "s" or word in _NOT_PLURAL:
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(_PLURAL_ES):
        return word[:-2]
    return word[:-1]


class _PluralCache(dict[str, str]):
    """``cache[word]`` is ``fold_plural(word)``; ``map(cache.__getitem__, words)`` runs in C
    for every word seen before. Bounded, so hostile input cannot grow it without limit."""

    def __missing__(self, word: str) -> str:
        folded = fold_plural(word)
        if len(self) < 500_000:
            self[word] = folded
        return folded


_PLURALS = _PluralCache()
_RUN_CACHE: dict[str, str] = {}


def _fold_run(m: re.Match[str]) -> str:
    run = m.group()
    folded = _RUN_CACHE.get(run)
    if folded is None:
        folded = "".join(map(fold_char, run))
        if len(_RUN_CACHE) < 100_000:
            _RUN_CACHE[run] = folded
    return folded


def fast_tokens(text: str) -> list[str]:
    """The normalised, plural-folded words of ``text``, without offsets. The hot path."""
    if not text.isascii():
        text = _NON_ASCII_RUN.sub(_fold_run, text)
    return list(map(_PLURALS.__getitem__, text.translate(_ASCII_TABLE).split()))


class Token(NamedTuple):
    """A normalised word and the ``[start, end)`` offsets of its source in the original text."""

    word: str
    start: int
    end: int


def tokens_with_spans(text: str) -> list[Token]:
    """The same words as ``fast_tokens``, each with its offsets in ``text``. Slower."""
    plurals = _PLURALS
    if text.isascii():
        return [
            Token(plurals[m.group().lower()], m.start(), m.end())
            for m in _ASCII_WORD.finditer(text)
        ]
    tokens: list[Token] = []
    buf: list[str] = []
    start = last = 0
    for i, c in enumerate(text):
        for ch in fold_char(c):
            if ch == " ":
                if buf:
                    tokens.append(Token(plurals["".join(buf)], start, last + 1))
                    buf.clear()
            else:
                if not buf:
                    start = i
                buf.append(ch)
                last = i
    if buf:
        tokens.append(Token(plurals["".join(buf)], start, last + 1))
    return tokens


def normalize_words(text: str) -> list[str]:
    """Normalise rule text (a word or phrase) exactly like article text."""
    return fast_tokens(text)


def case_key(text: str) -> str:
    """``text`` with marks, invisible characters and separators removed but case kept.

    Used by the exact-case marker: "US’s" -> "USs", "Ｕ.Ｓ." -> "US".
    """
    if text.isascii():
        return "".join(_ASCII_WORD.findall(text))
    out: list[str] = []
    for c in text:
        if c < "\x80":
            if c.isalnum():
                out.append(c)
        else:
            out.append(_fold_one(c, casefold=False).replace(" ", ""))
    return "".join(out)


def case_matches(original: str, wanted: str, prefix: bool) -> bool:
    """Exact-case test of one original word (its ``case_key``) against the rule's word.

    Equal, or the rule's word plus a plural "s"/"es"; for a prefix term, starts with it.
    """
    if prefix:
        return original.startswith(wanted)
    return original == wanted or (
        original.startswith(wanted) and original[len(wanted) :] in ("s", "es")
    )
