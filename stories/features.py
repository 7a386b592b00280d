"""What the grouping compares: an article's signals, extracted once when it is grouped.

* ``names``: proper names of two to four words ("marco rubio", "kuala lumpur", "bui thanh son"),
  folded, with job titles and organisation words cut out ("Secretary of State Marco Rubio" ->
  "marco rubio"). Names carry across English and Vietnamese once diacritics are folded.
* ``concepts``: what else carries across the languages: acronyms (ASEAN, UNCLOS), numbers
  (58, 1982, 20%), dates (month and day, in English and Vietnamese spellings) and a few
  bilingual phrases (``ALIASES``: "Biển Đông" is the East Sea).
* ``words``: content words of the title and lead, for same-language similarity.
* ``shingles``: hashed four-word shingles of the title and text, for near-duplicate wire copy.

Only the title and the lead (``LEAD_CHARS``) describe the event; the rest of an article drifts
into background, so signals come from there, except ``text``, the folded full text in which the
other article's names are looked up. Pure: no I/O.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from .fold import fold, fold_keep_case, fold_word

LEAD_CHARS: Final = 900
SHINGLE_WORDS: Final = 4
SHINGLE_SPAN: Final = 400  # words of title + text that the shingles cover


def _split(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _phrases(phrases: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in phrases.split(",") if p.strip())


# Words that make up titles, offices and organisations, not names (folded, both languages).
TITLE_WORDS: Final = _split(
    """
        the of and for in on at to with by from as about after before over new my au nga ong ba
        bao trade policy security australia australian japan japanese china chinese russia russian
        switzerland swiss malaysia ecuador typhoon storm southeast asian deputy prime minister
        ministers minister's ministers' foreign affairs secretary state president vice chairman
        chairwoman general party chief head leader premier pm fm high representative commissioner
        commission european union council councillor federal national assembly standing committee
        ministry department embassy ambassador envoy charge d'affaires acting assistant
        spokesperson spokesman spokeswoman official officials government people's army navy coast
        guard police court supreme vna vov afp ap reuters xinhua bernama photo comprehensive
        strategic partnership partnerships partner partners cooperation meeting meetings related
        summit conference dialogue session forum talks declaration conduct code joint communique
        statement agreement east west south north sea gulf island islands province city district
        republic kingdom united states us u.s uk eu un asean january february march april may june
        july august september october november december monday tuesday wednesday thursday friday
        saturday sunday vietnam vietnamese pho bo ngoai tong uy chien luoc nguoi ngay thang tuyen
        ve va cua cac nhung tai
        """
)
# Vietnamese offices, bodies and places of several syllables (folded, case-insensitive) that
# close a name: cut as phrases, because their syllables are also given names ("Thu", "Hoa").
TITLE_PHRASES: Final = _phrases(
    """
    pho thu tuong, thu tuong, bo truong, thu truong, ngoai truong, ngoai giao, tong bi thu,
    chu tich nuoc, chu tich, quoc hoi, uy ban thuong vu, uy vien, dai su quan, dai su, dai
    bien lam thoi, dai bien, nguoi phat ngon, hoi nghi, doi tac chien luoc toan dien, cong uoc
    lien hop quoc, lien hop quoc, luat bien, bien dong, hoa ky, nhat ban, trung quoc, thuy si,
    viet nam, ha noi, new zealand, tuyen bo chung, hoi dong lien bang, chinh phu, dang cong
    san, le ky niem
    """
)
_PHRASE_RE: Final = re.compile(
    r"\b(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in TITLE_PHRASES) + r")\b",
    re.IGNORECASE,
)

STOPWORDS: Final = _split(
    """
        a an the and or but of in on at to for with by from as is are was were be been has have
        had that this these those it its their his her he she they we our you your i not no will
        would can could should may might also said says say than then there here which who whom
        whose what when where while during into over under about after before between both all
        each other such more most some any very up out one two s t va cua cac nhung mot la co duoc
        trong cho voi tai ve theo de khi da se dang nay do tu nhu hai ben cung nhieu rat hon nua
        thi ma neu vi boi ra vao len xuong con chi moi
        """
)

# Bilingual phrases (folded) -> one concept. A rule's aliases (config/rules) make English rules
# fire on Vietnamese text; these make the two languages' reports of one event comparable.
ALIASES: Final = {
    "bien dong": "east sea",
    "south china sea": "east sea",
    "hoang sa": "paracel",
    "paracels": "paracel",
    "paracel islands": "paracel",
    "truong sa": "spratly",
    "spratlys": "spratly",
    "cong uoc lien hop quoc ve luat bien": "unclos",
    "doi tac chien luoc toan dien": "csp",
    "comprehensive strategic partnership": "csp",
    "hoa ky": "usa",
    "my": "usa",
    "united states": "usa",
    "nhat ban": "japan",
    "trung quoc": "china",
    "thuy si": "switzerland",
    "nga": "russia",
    "vuong nghi": "wang yi",
    "ha noi": "hanoi",
    "vinh bac bo": "gulf of tonkin",
    "gulf of tonkin": "gulf of tonkin",
    "tau ca": "fishing boat",
    "ngu dan": "fishermen",
    "bao": "typhoon",
}
_ALIAS_RE: Final = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, ALIASES), key=len, reverse=True)) + r")\b"
)

_MONTHS: Final = {
    m: i + 1
    for i, ms in enumerate(
        (
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sept sep",
            "october oct",
            "november nov",
            "december dec",
        )
    )
    for m in ms.split()
}
_MONTH_ALT: Final = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_DATE_RE: Final = re.compile(
    rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})\b|\b(\d{{1,2}})\s+({_MONTH_ALT})\b"
)
_VI_DATE_RE: Final = re.compile(
    r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\b|\bngay (\d{1,2}) thang (\d{1,2})\b"
)
_NUMBER_RE: Final = re.compile(r"\b(\d+(?:[.,]\d{3})*(?:[.,]\d+)?)(%|th|st|nd|rd)?\b")
_TOKEN_RE: Final = re.compile(r"\S+")
_ABBREV_RE: Final = re.compile(r"\b(\w)\.(?=\w\b)")  # "D.C." -> "DC.", "U.S." -> "US."
_EDGE_PUNCT: Final = "\"'“”‘’()[]{}«»"
_BREAK_PUNCT: Final = ",.;:!?)(–—"


@dataclass(frozen=True, slots=True)
class Features:
    """An article's signals (see the module docstring). ``lang`` is as given ("en", "vi")."""

    lang: str
    published: datetime
    names: frozenset[str]
    concepts: frozenset[str]
    words: frozenset[str]
    shingles: frozenset[int]
    text: str  # " " + folded full-text words joined by spaces + " ", for name look-ups
    source: str = ""  # the feed (one outlet's edition); "" when unknown

    def mentions(self, name: str) -> bool:
        """True when the folded full text contains ``name`` as whole words, or its last two
        words when it has more ("anh david lamy" is mentioned by "David Lamy")."""
        if f" {name} " in self.text:
            return True
        parts = name.split()
        return len(parts) > 2 and f" {' '.join(parts[-2:])} " in self.text


def extract(title: str, text: str, published: datetime, lang: str, source: str = "") -> Features:
    """The signals of one article. Deterministic (no salted hashes), so scores repeat."""
    lead = f"{title}\n{text[:LEAD_CHARS]}"
    folded_full = " ".join(re.findall(r"[^\W_]+", _ABBREV_RE.sub(r"\1", fold(f"{title}\n{text}"))))
    folded_lead = " ".join(re.findall(r"[^\W_]+", fold(lead)))
    names = _names(lead)
    concepts = set(_acronyms(lead)) | _dates(lead) | _numbers(lead)
    concepts.update(ALIASES[m] for m in _ALIAS_RE.findall(folded_lead))
    content = {
        w for w in folded_lead.split() if w not in STOPWORDS and not w.isdigit() and len(w) > 1
    }
    span = folded_full.split()[:SHINGLE_SPAN]
    shingles = {
        zlib.crc32(" ".join(span[i : i + SHINGLE_WORDS]).encode())
        for i in range(max(0, len(span) - SHINGLE_WORDS + 1))
    }
    return Features(
        lang=lang,
        published=published,
        names=frozenset(names),
        concepts=frozenset(concepts),
        words=frozenset(content),
        shingles=frozenset(shingles),
        text=f" {folded_full} ",
        source=source,
    )


def _names(text: str) -> set[str]:
    """Runs of capitalised words, cut at title words, kept when two to four words remain."""
    found: set[str] = set()
    run: list[str] = []
    text = _PHRASE_RE.sub(" , ", fold_keep_case(text))

    def close() -> None:
        part: list[str] = []
        for word in [*run, ""]:
            if word and word not in TITLE_WORDS:
                part.append(word)
                continue
            if 2 <= len(part) <= 4:
                found.add(" ".join(part))
            part = []
        run.clear()

    for match in _TOKEN_RE.finditer(text):
        raw = match.group()
        if raw[0] in "([":
            close()  # "Kuala Lumpur (VNA)", "Bui Thanh Son (L)"
        token = "".join(c for c in raw if c.isalnum() or c in "-'’.,;:!?").strip(_EDGE_PUNCT)
        core = token.rstrip(_BREAK_PUNCT).removesuffix("'s").removesuffix("’s")
        if core and core[0].isupper() and any(c.isalpha() for c in core):
            run.append(fold_word(core.replace("’", "'").replace(".", "")))
        else:
            close()
            continue
        if core != token or "\n" in text[match.end() : match.end() + 1]:
            close()  # a comma, full stop or line end closes the name
    close()
    return found


def _acronyms(text: str) -> list[str]:
    return [
        fold_word(w)
        for w in re.findall(r"\b[A-Z][A-Z0-9-]{2,}\b", text)
        if not w.isdigit() and w not in ("VNA", "AFP", "USD", "VND")
    ]


def _dates(text: str) -> set[str]:
    found: set[str] = set()
    low = text.lower()
    for m in _EN_DATE_RE.finditer(low):
        month = _MONTHS[m.group(1) or m.group(4)]
        day = int(m.group(2) or m.group(3))
        if 1 <= day <= 31:
            found.add(f"date:{month}-{day}")
    for m in _VI_DATE_RE.finditer(fold(low)):
        day, month = int(m.group(1) or m.group(4)), int(m.group(2) or m.group(5))
        if 1 <= day <= 31 and 1 <= month <= 12:
            found.add(f"date:{month}-{day}")
    return found


def dates_of(features: Features) -> frozenset[str]:
    """The event dates (``date:M-D``) the title and lead mention."""
    return frozenset(c for c in features.concepts if c.startswith("date:"))


def _numbers(text: str) -> set[str]:
    """Numbers of the title and lead, except small ones and those inside dates."""
    stripped = _VI_DATE_RE.sub(" ", _EN_DATE_RE.sub(" ", fold(text)))
    found: set[str] = set()
    for m in _NUMBER_RE.finditer(stripped):
        digits = m.group(1).replace(",", "").replace(".", "")
        if not digits.isdigit() or (len(digits) < 2 and m.group(2) != "%"):
            continue
        found.add(f"num:{int(digits)}{'%' if m.group(2) == '%' else ''}")
    return found
