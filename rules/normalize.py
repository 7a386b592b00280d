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
* Sentence and clause boundaries are kept, so a phrase or NEAR cannot match across them: a
  *break* lies between two words when the characters between them hold a line break, or a
  sentence mark (``. ! ? : ;`` and their Unicode forms) followed by whitespace, except a
  full stop right after a one-letter word ("U.S. Navy", "J. Smith" are initials). In the scan
  text a break is a double space (" east  sea "); the word lists and word offsets are not
  changed by breaks. Hyphens, slashes, apostrophes and dashes never break ("Vietnam-US").

The fold is applied by three implementations that must agree token for token and offset for
offset (property tests check it): the C extension ``rules._fastfold`` (one pass giving the
scan text and every word's offsets; built by ``pip install`` when a C compiler is present),
``fold_split`` + ``SpanFinder`` in Python (used when the extension is not built), and
``tokens_with_spans``, the plain per-character reference. What a character or a plural folds
to is defined only here, in ``fold_char`` and ``fold_plural``; the extension calls them.
``scan_form`` and ``word_offsets`` pick the fastest available path.

Does no I/O and knows nothing about rules.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import accumulate, compress, islice, repeat
from operator import add
from typing import NamedTuple

__all__ = [
    "FAST_FOLD",
    "Folded",
    "SpanFinder",
    "Token",
    "case_key",
    "case_matches",
    "fast_tokens",
    "fold_char",
    "fold_plural",
    "fold_split",
    "has_sentence_break",
    "normalize_words",
    "scan_form",
    "sentence_breaks",
    "token_spans",
    "tokens_with_spans",
    "word_offsets",
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

# What ``fold_char`` returns for sentence marks: a full stop (which does not break after a
# one-letter word, so initials like "U.S." stay joined) or another sentence mark.
PERIOD = "."
STRONG = "!"
_SENTENCE_MARKS = frozenset(".!?:;")
# Sentence marks that NFKC does not map to ASCII ones: ideographic, Arabic, Devanagari stops.
_EXTRA_STRONG = frozenset("\u3002\uff61\u061f\u061b\u06d4\u0964\u0965")
# The characters str.splitlines() breaks on: every one of them separates paragraphs / lines.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

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
    """The normalised form of one character: word characters, " " (a separator), "" (dropped),
    or for a sentence mark ``PERIOD`` / ``STRONG`` (separators that may make a break).

    The output may hold several characters ("ß" -> "ss", "½" -> "1 2").
    """
    if c < "\x80":
        if c in _SENTENCE_MARKS:
            return PERIOD if c == "." else STRONG
        return _ASCII_FOLD[ord(c)]
    folded = _FOLD_CACHE.get(c)
    if folded is None:
        nfkc = unicodedata.normalize("NFKC", c)
        if nfkc == ".":
            folded = PERIOD
        elif c in _EXTRA_STRONG or (nfkc and set(nfkc) <= _SENTENCE_MARKS):
            folded = STRONG
        else:
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


class _RunFold(NamedTuple):
    folded: str
    expands: bool  # some character folded to several characters ("ß" -> "ss")
    drops: tuple[int, ...]  # offsets in the run of the characters folded to nothing


_RUN_CACHE: dict[str, _RunFold] = {}
# The runs of _RUN_CACHE that neither expand nor drop a character: just their folded text.
_PLAIN_RUNS: dict[str, str] = {}


def _fold_run_entry(run: str) -> _RunFold:
    entry = _RUN_CACHE.get(run)
    if entry is None:
        folds = list(map(fold_char, run))
        entry = _RunFold(
            "".join(folds),
            any(len(f) > 1 for f in folds),
            tuple(i for i, f in enumerate(folds) if not f),
        )
        if len(_RUN_CACHE) < 100_000:
            _RUN_CACHE[run] = entry
            if not entry.expands and not entry.drops:
                _PLAIN_RUNS[run] = entry.folded
    return entry


class Folded(NamedTuple):
    """``fold_split``'s result: the words, and what ``SpanFinder`` needs to map them back."""

    words: list[str]
    parts: list[str] | None  # folded text split on " "; None if a character expanded
    drops: list[int]  # original offsets of the characters the fold removed
    text: str = ""  # the folded text ``parts`` was split from ("" when ``parts`` is None)
    breaks: tuple[int, ...] = ()  # ``sentence_breaks(text)``: words that start a sentence


def fold_split(text: str) -> Folded:
    """The normalised, plural-folded words of ``text``, plus the raw ``split(" ")`` parts and
    the offsets of removed characters, from which ``SpanFinder`` computes offsets in the
    original text without another pass over it. The hot path."""
    if text.isascii():
        folded = text.translate(_ASCII_TABLE)
        parts = folded.split(" ")
        words = list(map(_PLURALS.__getitem__, filter(None, parts)))
        return Folded(words, parts, [], folded, _breaks(text, folded))
    expands = False
    drops: list[int] = []
    plain_run = _PLAIN_RUNS.get

    def fold(m: re.Match[str]) -> str:
        nonlocal expands
        run = m.group()
        plain = plain_run(run)
        if plain is not None:  # the common case: a quote, a dash, an accented letter
            return plain
        entry = _fold_run_entry(run)
        if entry.expands:
            expands = True
        elif entry.drops:
            start = m.start()
            drops.extend([start + i for i in entry.drops])
        return entry.folded

    folded = _NON_ASCII_RUN.sub(fold, text).translate(_ASCII_TABLE)
    parts = folded.split(" ")
    words = list(map(_PLURALS.__getitem__, filter(None, parts)))
    breaks = _breaks(text, folded)
    if expands:
        return Folded(words, None, [], "", breaks)
    return Folded(words, parts, drops, folded, breaks)


def fast_tokens(text: str) -> list[str]:
    """The normalised, plural-folded words of ``text``, without offsets."""
    if _fast_fold is not None:
        return _fast_fold(text)[0].split()  # split(): a break is a double space
    return fold_split(text)[0]


_SEPARATORS = frozenset((" ", PERIOD, STRONG))


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
            if ch in _SEPARATORS:
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


def sentence_breaks(text: str) -> tuple[int, ...]:
    """The indexes of the words of ``tokens_with_spans(text)`` that start a new sentence: a
    *break* lies between word i - 1 and word i. The plain per-character definition (slow);
    the C fold and ``fold_split`` compute the same faster.

    Between two words, a break is a line break, or a sentence mark followed (before the next
    word) by whitespace; a full stop counts only after a word of two or more letters, so
    initials ("U.S. Navy", "J. Smith") do not break. Characters the fold drops (emoji,
    zero-width) are transparent here as they are inside words.
    """
    breaks: list[int] = []
    words = 0
    in_word = False
    length = last_length = 0
    mark = brk = False  # in the current gap: a sentence mark that counts / a break
    for c in text:
        folded = fold_char(c)
        if not folded:
            continue
        if folded in _SEPARATORS or folded == " " * len(folded):
            if in_word:
                in_word, last_length = False, length
            if c in LINE_BREAKS:
                brk = True
            elif c.isspace():
                brk = brk or mark
            elif folded == STRONG or (folded == PERIOD and last_length >= 2):
                mark = True
            continue
        for ch in folded:  # word characters, maybe with spaces ("½" -> "1 2")
            if ch == " ":
                if in_word:
                    in_word, last_length = False, length
                continue
            if not in_word:
                if brk and words:
                    breaks.append(words)
                mark = brk = False
                in_word, length = True, 0
                words += 1
            length += 1
    return tuple(breaks)


# Marks for the fast break finder. Each character becomes as many marks as ``fold_char`` gives
# it characters, so the marks line up with the folded text: "a" a word character, "\n" a line
# break, " " other whitespace, "." a full stop, "!" another sentence mark, "-" any other
# separator; a dropped character gives no mark (it is transparent, as in the fold).
_MARK_TABLE = str.maketrans(
    {
        chr(i): (
            "a"
            if chr(i).isalnum()
            else "\n"
            if chr(i) in LINE_BREAKS
            else " "
            if chr(i).isspace()
            else "."
            if chr(i) == "."
            else "!"
            if chr(i) in _SENTENCE_MARKS
            else "-"
        )
        for i in range(128)
    }
)
_MARK_RUNS: dict[str, str] = {}
# A sentence mark followed by whitespace in the same gap, or a line break: a break, if the gap
# lies between two words (and, for a full stop, the word before has two or more letters).
_BREAK_MARK = re.compile(r"\n|[.!](?=[^a]*?\s)")
_MAYBE_BREAK = re.compile(r"[.!?:;\n\r\x0b\x0c\x1c-\x1e]|[^\x00-\x7f]")


def _mark_char(c: str) -> str:
    folded = fold_char(c)
    if folded == PERIOD:
        return "."
    if folded == STRONG:
        return "!"
    if folded == " ":
        return "\n" if c in LINE_BREAKS else " " if c.isspace() else "-"
    return "".join("-" if ch == " " else "a" for ch in folded)  # "" when dropped


def _mark_run(m: re.Match[str]) -> str:
    run = m.group()
    marks = _MARK_RUNS.get(run)
    if marks is None:
        marks = "".join(map(_mark_char, run))
        if len(_MARK_RUNS) < 100_000:
            _MARK_RUNS[run] = marks
    return marks


def has_sentence_break(text: str) -> bool:
    """Whether ``text`` (a rule's phrase) holds a sentence break between two of its words."""
    return _MAYBE_BREAK.search(text) is not None and bool(sentence_breaks(text))


def _breaks(text: str, folded: str) -> tuple[int, ...]:
    """``sentence_breaks(text)``, mostly from C-level passes: ``folded`` is the text's fold
    before it is split into words (``fold_split``'s), which the marks line up with."""
    if text.isascii():
        marks = text.translate(_MARK_TABLE)
    else:
        marks = _NON_ASCII_RUN.sub(_mark_run, text).translate(_MARK_TABLE)
    out: list[int] = []
    n = 0  # words before `prev`
    prev = 0
    rfind = marks.rfind
    for m in _BREAK_MARK.finditer(marks):
        at = m.start()
        if marks[at] == ".":
            last = rfind("a", 0, at)  # the last letter of the word before the gap
            if last < 1 or marks[last - 1] != "a":
                continue  # no word before, or a one-letter word: an initial ("U.S.")
        end = m.end()  # in the gap (or at the next word's start): no word is cut
        n += len(folded[prev:end].split())
        prev = end
        if n and (not out or out[-1] != n):
            out.append(n)
    if out and out[-1] == n and not folded[prev:].split():
        out.pop()  # a break after the last word separates nothing
    return tuple(out)


# For offsets, each non-ASCII character is replaced by one mask character: "a" if it makes
# word characters, " " if it separates, _DROP if it is dropped inside a word, _MIXED if it does
# both (e.g. "½" -> "1 2": rare, handled the slow way). ASCII is kept, so tokens are the runs
# of ``[A-Za-z0-9](_DROP*[A-Za-z0-9])*`` at the same offsets as in the original text.
_DROP = "\ue000"
_MIXED = "\ue001"
_MASK_TOKEN = re.compile(f"[A-Za-z0-9](?:{_DROP}*[A-Za-z0-9])*")
_MASK_RUN_CACHE: dict[str, str] = {}


def _mask_char(c: str) -> str:
    folded = fold_char(c)
    if not folded:
        return _DROP
    if folded in _SEPARATORS or folded == " " * len(folded):
        return " "
    return _MIXED if " " in folded else "a"


def _mask_run(m: re.Match[str]) -> str:
    run = m.group()
    masked = _MASK_RUN_CACHE.get(run)
    if masked is None:
        masked = "".join(map(_mask_char, run))
        if len(_MASK_RUN_CACHE) < 100_000:
            _MASK_RUN_CACHE[run] = masked
    return masked


def token_spans(text: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` offsets in ``text`` of each word ``fast_tokens`` returns. Fast."""
    if text.isascii():
        return [m.span() for m in _ASCII_WORD.finditer(text)]
    mask = _NON_ASCII_RUN.sub(_mask_run, text)
    if _MIXED in mask:
        return [(t.start, t.end) for t in tokens_with_spans(text)]
    return [m.span() for m in _MASK_TOKEN.finditer(mask)]


class SpanFinder:
    """Offsets in the original text of the i-th word of ``fast_tokens(text)``.

    Built with C-level passes only (translate, split, accumulate, compress): no Python code
    runs per word. Lazy: word starts are taken from that C iterator only up to the highest
    word asked for, so a hit near the start of a long article costs little. Text with a
    character dropped inside a word (an emoji, a zero-width joiner) is mapped back by
    bisection; one where a character folds to several words ("½") takes the per-word regex
    path instead.
    """

    __slots__ = ("_drops", "_next", "_spans", "_starts", "_text")

    def __init__(self, text: str, folded: Folded | None = None) -> None:
        """``folded``: ``fold_split(text)``, when the caller has it (saves a pass)."""
        self._starts: list[int] = []
        self._next: Iterator[int] = iter(())
        self._text = ""  # folded text: words at ``_starts``, separated by spaces
        self._spans: list[tuple[int, int]] | None = None
        self._drops: list[int] = []
        if folded is not None and folded.parts is not None:
            self._from_parts(folded.text, folded.parts)
            # where each removed character would sit in the folded text
            self._drops = [d - j for j, d in enumerate(folded.drops)]
            return
        mask = text if text.isascii() else _NON_ASCII_RUN.sub(_mask_run, text)
        if _MIXED in mask:
            self._spans = token_spans(text)
            return
        if _DROP in mask:
            # work on the text without its dropped characters; _drops[j] is where the j-th
            # dropped character would sit in that shorter text, to map offsets back
            self._drops = [m.start() - j for j, m in enumerate(re.finditer(_DROP, mask))]
            mask = mask.replace(_DROP, "")
        folded_text = mask.translate(_ASCII_TABLE)
        self._from_parts(folded_text, folded_text.split(" "))

    def _from_parts(self, folded_text: str, parts: list[str]) -> None:
        # split(" ") keeps an empty string for each extra space, so the position of every
        # part is the running sum of (length + 1); the non-empty parts are the words
        positions = accumulate(map(add, map(len, parts), repeat(1)), initial=0)
        self._next = compress(positions, parts)
        self._text = folded_text

    def _start(self, i: int) -> int:
        starts = self._starts
        if i >= len(starts):
            starts.extend(islice(self._next, i + 1 - len(starts)))
        return starts[i]

    def _end(self, start: int) -> int:
        end = self._text.find(" ", start)
        return len(self._text) if end < 0 else end

    def span(self, i: int) -> tuple[int, int]:
        return self.words_span(i, i + 1)

    def words_span(self, first: int, end: int) -> tuple[int, int]:
        """``[start, end)`` in the original text of words ``first`` to ``end - 1`` together."""
        if self._spans is not None:
            return self._spans[first][0], self._spans[end - 1][1]
        last = end - 1
        stop = self._end(self._start(last))
        start = self._starts[first]  # taken by _start(last)
        drops = self._drops
        if drops:  # dropped characters before a word's first / last character shift it
            start += bisect_right(drops, start)
            stop -= 1
            stop += bisect_right(drops, stop) + 1
        return start, stop


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


class WordOffsets:
    """Offsets in the original text of each word, from the C fold's int32 (start, end) pairs."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: bytes) -> None:
        self._pairs = memoryview(pairs).cast("i")  # word i: start at 2 * i, end at 2 * i + 1

    def span(self, i: int) -> tuple[int, int]:
        return self.words_span(i, i + 1)

    def words_span(self, first: int, end: int) -> tuple[int, int]:
        """``[start, end)`` in the original text of words ``first`` to ``end - 1`` together."""
        pairs = self._pairs
        return pairs[2 * first], pairs[2 * end - 1]


OffsetSource = bytes | Folded


def scan_form(text: str) -> tuple[str, OffsetSource]:
    """The text the automaton scans (" w1 w2  w3 ... wn ", a double space at each sentence
    break; "" without words) and what
    ``word_offsets`` needs to map its words back to ``text`` (kept until a hit needs it)."""
    if _fast_fold is not None:
        return _fast_fold(text)
    folded = fold_split(text)
    words = folded.words
    if not words:
        return "", folded
    if not folded.breaks:
        return " " + " ".join(words) + " ", folded
    pieces: list[str] = []
    prev = 0
    for b in folded.breaks:
        pieces.append(" ".join(words[prev:b]))
        prev = b
    pieces.append(" ".join(words[prev:]))
    return " " + "  ".join(pieces) + " ", folded  # a break is a double space


def word_offsets(text: str, source: OffsetSource) -> WordOffsets | SpanFinder:
    """Offsets in ``text`` of the words of ``scan_form(text)``; ``source`` is its second part."""
    if isinstance(source, bytes):
        return WordOffsets(source)
    return SpanFinder(text, source)


_fast_fold: Callable[[str], tuple[str, bytes]] | None
try:
    from rules._fastfold import configure as _configure_fast_fold
    from rules._fastfold import fold as _c_fold
except ImportError:  # built without a C compiler: the Python fold above does the same, slower
    _fast_fold = None
else:
    _configure_fast_fold(fold_char, _PLURALS)
    _fast_fold = _c_fold

FAST_FOLD = _fast_fold is not None
"""Whether the C fold is in use (``newswatch doctor`` reports it)."""
