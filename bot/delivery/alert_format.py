"""Alert text: one article and the rules it matched, as Telegram HTML and as plain text.

Layout (HTML)::

    <b><a href="LINK">Title</a></b>
    Source · 11 Jul 2025 19:00 +07
    #rule_one #rule_two
    Snippet: one to three sentences around the best hit, the matched words in <b>bold</b>.
    LINK

Everything taken from the feed is escaped, control characters are dropped, right-to-left text is
isolated so it cannot reorder the lines around it, and every part has a length budget so the
message stays far below Telegram's 4,096 characters after entity parsing; long parts are cut at
a word boundary before any markup is added, so a cut never breaks a tag. Pure: no I/O, no
Telegram imports; the console sink prints ``plain``. The bot's own words ("updated", the date's
style) are in the chat's language (``bot.i18n``); the article's text is never translated.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import bot.i18n as i18n
from bot.i18n.forms import moment
from core.models import (
    Article,
    Hit,
    Language,
    Priority,
    RenderedMessage,
    RuleInfo,
    RuleMatch,
    SnippetLength,
)

TELEGRAM_MAX_CHARS = 4096
TITLE_MAX = 300
SOURCE_MAX = 80
SNIPPET_MAX = 700
SNIPPET_TARGET = 220  # add neighbouring sentences while the snippet is shorter than this
# A chat's /settings choice (#16): the length the snippet grows to (0: the hit's sentence only).
SNIPPET_TARGETS: dict[SnippetLength, int] = {
    SnippetLength.SHORT: 0,
    SnippetLength.NORMAL: SNIPPET_TARGET,
    SnippetLength.LONG: 500,
}
LINK_TEXT_MAX = 200
PLAIN_LINK_MAX = 1000  # the plain text keeps the whole link unless it is absurdly long
MAX_TAGS = 12
TAG_MAX = 40
_FIELD_PREFERENCE = ("summary", "content", "title")

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE_RE = re.compile(r"\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…。])[\"'”’»)\]]*\s+|\n\s*")
_TAG_CHARS_RE = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class _Part:
    html: str
    plain: str


def format_alert(
    article: Article,
    matches: Sequence[RuleMatch],
    rules: Mapping[str, RuleInfo],
    tz: ZoneInfo,
    *,
    updated: bool = False,
    snippet_length: SnippetLength = SnippetLength.NORMAL,
    language: Language | None = None,
) -> RenderedMessage:
    """Build the alert for ``article``. ``rules`` gives names and priorities by rule id; a rule
    missing from it (reloaded away) is shown by id with normal priority. ``updated`` (the
    source edited the story after its alert) adds "updated" to the source line. ``language``
    is the chat's (English when None)."""
    link = safe_link(article.link)
    parts: list[_Part] = [_title_line(article.title, link, language)]
    meta = _meta_line(article, tz, language)
    if updated:
        mark = i18n.text(language, "alert.updated")
        meta = f"{meta} · {mark}" if meta else mark
    if meta:
        parts.append(_Part(html.escape(meta, quote=False), meta))
    tags = rule_tags([m.rule_id for m in matches])
    if tags:
        high = any(_priority(rules, m.rule_id) is Priority.HIGH for m in matches)
        line = ("❗ " if high else "") + " ".join(tags)
        parts.append(_Part(html.escape(line, quote=False), line))
    snippet = (
        None
        if snippet_length is SnippetLength.OFF
        else build_snippet(article, matches, SNIPPET_TARGETS[snippet_length])
    )
    if snippet is not None:
        parts.append(snippet)
    if link:
        shown = shorten(link, LINK_TEXT_MAX)
        parts.append(
            _Part(
                f'<a href="{html.escape(link)}">{html.escape(shown, quote=False)}</a>',
                shorten(link, PLAIN_LINK_MAX),
            )
        )
    message = RenderedMessage(
        html="\n".join(p.html for p in parts),
        plain="\n".join(p.plain for p in parts),
        disable_notification=not any(_priority(rules, m.rule_id) is Priority.HIGH for m in matches),
    )
    return _enforce_limit(message)


def _priority(rules: Mapping[str, RuleInfo], rule_id: str) -> Priority:
    info = rules.get(rule_id)
    return info.priority if info is not None else Priority.NORMAL


# parts ----------------------------------------------------------------------------------------


def _title_line(title: str, link: str | None, language: Language | None = None) -> _Part:
    shown = isolate(shorten(clean_text(title), TITLE_MAX)) or i18n.text(language, "alert.untitled")
    escaped = html.escape(shown, quote=False)
    if link:
        return _Part(f'<b><a href="{html.escape(link)}">{escaped}</a></b>', shown)
    return _Part(f"<b>{escaped}</b>", shown)


def _meta_line(article: Article, tz: ZoneInfo, language: Language | None = None) -> str:
    pieces: list[str] = []
    source = source_name(article)
    if source:
        pieces.append(isolate(shorten(source, SOURCE_MAX)))
    if article.published_at is not None and article.published_at.tzinfo is not None:
        local = article.published_at.astimezone(tz)
        pieces.append(moment(language, "date.alert_long", local, tz) + " " + (local.tzname() or ""))
    return " · ".join(p.strip() for p in pieces if p.strip())


def source_name(article: Article) -> str:
    """The feed's name, else the host of the article link, else the host of the feed."""
    if article.feed_name and clean_text(article.feed_name):
        return clean_text(article.feed_name)
    for url in (safe_link(article.link), article.feed_url):
        host = _host(url)
        if host:
            return host.removeprefix("www.")
    return ""


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def safe_link(url: str | None) -> str | None:
    """The link if it is an http(s) URL with a host and no whitespace; else None (no href)."""
    if not url:
        return None
    url = url.strip()
    if not re.match(r"^https?://", url, re.IGNORECASE) or _CONTROL_RE.search(url):
        return None
    if any(c.isspace() for c in url) or not _host(url):
        return None
    return url


def rule_tags(rule_ids: Sequence[str]) -> list[str]:
    """``#rule_id`` hashtags Telegram recognises: word characters only, not all digits."""
    tags: list[str] = []
    for rule_id in rule_ids:
        word = _TAG_CHARS_RE.sub("_", rule_id).strip("_")[:TAG_MAX].strip("_")
        if not word:
            continue
        if word[0].isdigit():
            word = "r" + word
        tag = f"#{word}"
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        tags = [*tags[:MAX_TAGS], f"+{len(tags) - MAX_TAGS}"]
    return tags


# text helpers ---------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Drop control and bidi-override characters, collapse whitespace to single spaces."""
    return _SPACE_RE.sub(" ", _CONTROL_RE.sub("", text)).strip()


def isolate(text: str) -> str:
    """Wrap right-to-left text in first-strong isolates so it cannot reorder what follows."""
    if any(unicodedata.bidirectional(c) in ("R", "AL") for c in text):
        return f"\u2068{text}\u2069"
    return text


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


# snippet --------------------------------------------------------------------------------------


def _valid_hits(hits: Sequence[Hit], text: str) -> list[tuple[int, int]]:
    spans = sorted((h.start, h.end) for h in hits if 0 <= h.start < h.end <= len(text))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, by end punctuation or line break."""
    bounds: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END_RE.finditer(text):
        if m.start() > pos:
            bounds.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        bounds.append((pos, len(text)))
    return [(s, e) for s, e in bounds if text[s:e].strip()]


def build_snippet(
    article: Article, matches: Sequence[RuleMatch], target: int = SNIPPET_TARGET
) -> _Part | None:
    """One to three sentences around the first hit of the best field, hits in bold.

    Prefers a hit in the summary, then the content (the title is already shown); with only
    title hits, the summary's opening sentences stand in, unbolded. None when there is no text.
    """
    fields = article.text_fields
    hits_by_field: dict[str, list[Hit]] = {}
    for match in matches:
        for hit in match.hits:
            hits_by_field.setdefault(hit.field, []).append(hit)
    for name in _FIELD_PREFERENCE[:2]:
        text = fields.get(name, "")
        spans = _valid_hits(hits_by_field.get(name, []), text)
        if spans:
            return _snippet_around(text, spans, target)
    for name in _FIELD_PREFERENCE[:2]:
        text = fields.get(name, "")
        if text.strip():
            return _snippet_around(text, [], target)
    return None


def _snippet_around(
    text: str, spans: list[tuple[int, int]], target: int = SNIPPET_TARGET
) -> _Part | None:
    sentences = _sentences(text)
    if not sentences:
        return None
    anchor = spans[0][0] if spans else 0
    index = next((i for i, (s, e) in enumerate(sentences) if s <= anchor < e), 0)
    if spans and not sentences[index][0] <= anchor < sentences[index][1]:
        # The hit sits in what the splitter dropped (whitespace): take the nearest sentence.
        index = min(range(len(sentences)), key=lambda i: abs(sentences[i][0] - anchor))
    first = last = index
    while last - first < 2:
        length = sentences[last][1] - sentences[first][0]
        if length >= target:
            break
        if last + 1 < len(sentences):
            last += 1
        elif first > 0:
            first -= 1
        else:
            break
    start, end = sentences[first][0], sentences[last][1]
    lead = trail = ""
    if end - start > SNIPPET_MAX:
        # Keep the hit in view: a window of SNIPPET_MAX characters starting a little before it.
        hit_start = max(start, anchor - SNIPPET_MAX // 4)
        if hit_start > start:
            space = text.find(" ", hit_start, anchor) if anchor > hit_start else -1
            start = space + 1 if space != -1 else hit_start
            lead = "…"
        limit_end = start + SNIPPET_MAX
        if end > limit_end:
            space = text.rfind(" ", start + SNIPPET_MAX // 2, limit_end)
            end = space if space != -1 else limit_end
            trail = "…"
    return _render(text, start, end, spans, lead, trail)


def _render(
    text: str, start: int, end: int, spans: list[tuple[int, int]], lead: str, trail: str
) -> _Part:
    """Escape ``text[start:end]`` with the spans inside it in ``<b>``; tags always balanced."""
    html_out: list[str] = [lead]
    plain_out: list[str] = [lead]
    pos = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        before = _CONTROL_RE.sub("", text[pos:s])
        bold = _CONTROL_RE.sub("", text[s:e])
        html_out += [html.escape(before, quote=False), f"<b>{html.escape(bold, quote=False)}</b>"]
        plain_out += [before, bold]
        pos = e
    rest = _CONTROL_RE.sub("", text[pos:end])
    html_out += [html.escape(rest, quote=False), trail]
    plain_out += [rest, trail]
    html_text = _collapse_spaces("".join(html_out))
    plain_text = _collapse_spaces("".join(plain_out))
    return _Part(html_text, plain_text)


def _collapse_spaces(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


# the last guard -------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units; an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _enforce_limit(message: RenderedMessage) -> RenderedMessage:
    """The budgets above keep a message near 1,500 characters; this guard only exists so that
    a future change to them can never produce a message Telegram refuses."""
    if utf16_len(message.plain) <= TELEGRAM_MAX_CHARS:
        return message
    plain = message.plain
    while utf16_len(plain) > TELEGRAM_MAX_CHARS - 1:
        plain = shorten(plain, len(plain) - 100)
    return RenderedMessage(
        html=html.escape(plain, quote=False),
        plain=plain,
        disable_notification=message.disable_notification,
    )
