"""Feed bytes -> articles: feedparser with our own plain-text cleaning and identity rules.

``parse_feed`` is synchronous, pure CPU work (call it off the event loop). It hands feedparser
the raw bytes and the response's Content-Type so the charset comes from the header or the XML
prolog; broken encodings and ill-formed XML never raise, they yield whatever entries feedparser
recovered plus a ``bozo`` message. It refuses documents that declare XML entities (the
billion-laughs family) before any parser sees them. It does not fetch, schedule or store.
"""

from __future__ import annotations

import calendar
import io
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import feedparser

from core.errors import FeedError
from core.models import Article
from watchers.text import article_identity, clean_link, html_to_text, plain_text, site_of

_ROOT_RE: Final = re.compile(rb"<[A-Za-z_]")
_HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
_PROBE_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document yielded. ``bozo`` holds feedparser's complaint, if any."""

    title: str | None = None
    ttl_s: float | None = None
    items: list[Article] = field(default_factory=list)
    bozo: str | None = None
    version: str | None = None
    link: str | None = None

    @property
    def looks_like_feed(self) -> bool:
        """False for documents that are not feeds at all (an HTML page, an error text)."""
        return bool(self.items) or bool(self.version)


def refuse_entity_declarations(body: bytes) -> None:
    """Raise ``FeedError`` when the document's prolog declares XML entities.

    Feeds have no use for an internal DTD subset; entity declarations there are how
    entity-expansion bombs work. feedparser drops most of them but keeps plain-text ones, which
    its loose parser then expands without limit, so we refuse them all, in linear time.
    """
    probe = body[:_PROBE_BYTES]
    if b"\x00" in probe[:4]:  # UTF-16/32: make the ASCII markup visible to the byte search
        probe = probe.replace(b"\x00", b"")
    if b"<!" not in probe:
        return
    root = _ROOT_RE.search(probe)
    head = probe if root is None else probe[: root.start()]
    if b"<!ENTITY" in head.upper():
        raise FeedError("refused: the document declares XML entities (entity-expansion risk)")


def parse_feed(
    body: bytes,
    url: str,
    content_type: str | None = None,
    feed_name: str | None = None,
    *,
    base_url: str | None = None,
    tuned: bool = True,
) -> ParsedFeed:
    """Parse one feed document into articles (published times may be None: caller fills them).

    ``tuned=True`` (the default) turns feedparser's HTML sanitiser and relative-URI resolution
    off: we reduce all markup to plain text ourselves, so both would be wasted work.
    ``url`` is the feed's key (``Article.feed_url``); relative links resolve against
    ``base_url`` (where the body really came from after redirects), default ``url``.
    Raises ``FeedError`` only for refused documents; everything else comes back with ``bozo``.
    """
    refuse_entity_declarations(body)
    base = base_url or url
    # Without a header (a file, a test) feedparser would flag the feed; XML is the neutral guess.
    # No Content-Location: feedparser would then make every URI absolute itself (about a
    # quarter of its time); we resolve the one link per item we keep, below.
    headers = {"content-type": content_type or "application/xml"}
    try:
        # A stream, never bytes or str: feedparser treats those as a URL or a file path.
        d = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=not tuned,
            resolve_relative_uris=not tuned,
        )
    except Exception as e:  # feedparser is documented not to raise; a bug must not kill a poll
        raise FeedError(f"feed parser failed: {type(e).__name__}: {e}") from e
    feed: Any = d.get("feed", {})
    bozo = None
    if d.get("bozo"):
        exc = d.get("bozo_exception")
        bozo = " ".join(f"{type(exc).__name__}: {exc}".split())[:300] if exc else "ill-formed"
    site = site_of(url)
    items = [
        a
        for a in (_article(e, url, base, site, feed_name) for e in d.get("entries", []))
        if a is not None
    ]
    title = _clean_title(feed.get("title"), feed.get("title_detail")) or None
    return ParsedFeed(
        title=title,
        ttl_s=_ttl_seconds(feed.get("ttl")),
        items=items,
        bozo=bozo,
        version=d.get("version") or None,
        link=feed.get("link"),
    )


def _ttl_seconds(raw: object) -> float | None:
    try:
        minutes = float(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60.0 if minutes > 0 else None


def _is_html(detail: Any) -> bool:
    if not detail:
        return True  # unknown: treat as HTML, stripping is harmless on plain text
    return str(detail.get("type", "text/html")) in _HTML_TYPES


def _clean(value: str | None, detail: Any) -> str:
    return html_to_text(value) if _is_html(detail) else plain_text(value)


def _clean_title(value: str | None, detail: Any) -> str:
    # Only a title the feed marks as HTML is tag-stripped (feedparser also marks RSS titles that
    # carry escaped markup as text/html): a plain-text "History of the <blink> tag" keeps its
    # words. On one line either way.
    return " ".join(_clean(value, detail).split()) if value else ""


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if isinstance(t, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(t), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _article(
    entry: Any, feed_url: str, base_url: str, site: str, feed_name: str | None
) -> Article | None:
    title = _clean_title(entry.get("title"), entry.get("title_detail"))
    summary = _clean(entry.get("summary"), entry.get("summary_detail"))
    contents = entry.get("content") or []
    content = "\n".join(
        t for t in (_clean(c.get("value"), c) for c in contents if isinstance(c, dict)) if t
    )
    if content == summary:
        summary_out, content_out = summary, ""
    else:
        summary_out, content_out = summary, content
    link, key = clean_link(entry.get("link"), base_url)
    guid = entry.get("id") or None
    if not (title or summary_out or content_out or link):
        return None  # an empty <item/>: nothing to show or match
    identity = article_identity(
        guid, link, title, content_out or summary_out, feed_url, key=key, site=site
    )
    author = entry.get("author")
    return Article(
        feed_url=feed_url,
        identity=identity,
        title=title or (summary_out[:120] if summary_out else (link or "")),
        link=link,
        summary=summary_out,
        content=content_out,
        author=plain_text(html_to_text(author)) or None if author else None,
        published_at=_published(entry),
        guid=guid,
        link_key=key,
        feed_name=feed_name,
    )
