"""Checking a feed URL before it is added: is it safe, reachable, a feed, and what is in it.

``inspect_feed_url`` validates the URL (http/https only; hosts resolving to loopback, private,
link-local or metadata addresses refused unless allowed, on every redirect hop too), fetches it
once, parses it, and when it is a web page follows its ``<link rel="alternate">`` to the feed.
It reports the outcome in a ``FeedProbe`` and never raises for bad input. It does not write the
feeds file (``bot/cli/feed_commands.py`` does).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from core.errors import FeedError
from watchers.fetch import FeedFetcher
from watchers.parse import ParsedFeed, parse_feed

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


@dataclass(frozen=True, slots=True)
class FeedProbe:
    """The answer about one URL. ``ok`` with ``feed_url``/``title``/``item_count``, or a
    one-line ``problem``. ``feed_url`` may differ from ``url`` (an HTML page's alternate feed,
    a permanent redirect)."""

    url: str
    ok: bool
    feed_url: str | None = None
    title: str | None = None
    item_count: int = 0
    problem: str | None = None
    discovered_from: str | None = None


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (type, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        rels = a.get("rel", "").lower().split()
        kind = a.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in _FEED_TYPES and a.get("href"):
            self.links.append((kind, a["href"].strip()))


def feed_links_in_html(html: bytes, base_url: str) -> list[str]:
    """Absolute URLs of the feeds an HTML page advertises, in page order (RSS/Atom/RDF)."""
    parser = _AlternateLinks()
    try:
        parser.feed(html[: 512 * 1024].decode("utf-8", errors="replace"))
        parser.close()
    except Exception:  # html.parser on hostile input: keep what was found
        pass
    seen: list[str] = []
    for _kind, href in parser.links:
        url = urljoin(base_url, href)
        if url not in seen:
            seen.append(url)
    return seen


def check_url_syntax(url: str) -> str | None:
    """A problem with the URL's form, or None: http/https with a host, no credentials."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as e:
        return f"not a valid URL: {e}"
    if parts.scheme not in ("http", "https"):
        return f"only http:// and https:// feeds are supported, got {parts.scheme or 'no'} scheme"
    if not parts.hostname:
        return "the URL has no host name"
    if parts.username or parts.password:
        return "URLs with a user name or password are not accepted"
    return None


async def inspect_feed_url(url: str, fetcher: FeedFetcher, allow_private: bool) -> FeedProbe:
    """Validate, fetch once and parse ``url``; resolve an HTML page to the feed it links."""
    url = url.strip()
    problem = check_url_syntax(url)
    if problem is not None:
        return FeedProbe(url=url, ok=False, problem=problem)
    first = await _probe(url, fetcher, allow_private)
    if first.ok or first.html is None:
        return first.probe
    candidates = feed_links_in_html(first.html, first.base_url)
    if not candidates:
        return FeedProbe(
            url=url,
            ok=False,
            problem="this is a web page that links no RSS or Atom feed "
            '(no <link rel="alternate" type="application/rss+xml">)',
        )
    problems: list[str] = []
    for candidate in candidates[:3]:
        found = await _probe(candidate, fetcher, allow_private)
        if found.ok:
            p = found.probe
            return FeedProbe(
                url=url,
                ok=True,
                feed_url=p.feed_url,
                title=p.title,
                item_count=p.item_count,
                discovered_from=url,
            )
        problems.append(f"{candidate}: {found.probe.problem}")
    return FeedProbe(
        url=url, ok=False, problem="the page links feeds that failed: " + "; ".join(problems)
    )


@dataclass(frozen=True, slots=True)
class _Attempt:
    probe: FeedProbe
    html: bytes | None = None  # set when the answer was an HTML page, for discovery
    base_url: str = ""

    @property
    def ok(self) -> bool:
        return self.probe.ok


async def _probe(url: str, fetcher: FeedFetcher, allow_private: bool) -> _Attempt:
    result = await fetcher.fetch(url, allow_private=allow_private)
    if not result.ok or result.body is None:
        return _Attempt(FeedProbe(url=url, ok=False, problem=result.error or "empty response"))
    feed_url = result.permanent_redirect_to or url
    try:
        parsed: ParsedFeed = await asyncio.to_thread(
            parse_feed, result.body, feed_url, result.content_type, base_url=result.final_url
        )
    except FeedError as e:
        return _Attempt(FeedProbe(url=url, ok=False, problem=str(e)))
    if parsed.looks_like_feed:
        return _Attempt(
            FeedProbe(
                url=url,
                ok=True,
                feed_url=feed_url,
                title=parsed.title,
                item_count=len(parsed.items),
            )
        )
    ctype = (result.content_type or "").lower()
    head = result.body[:2048].lstrip().lower()
    is_html = "html" in ctype or head.startswith((b"<!doctype html", b"<html"))
    problem = f"not an RSS or Atom feed ({parsed.bozo or 'no feed elements'})"
    return _Attempt(
        FeedProbe(url=url, ok=False, problem=problem),
        html=result.body if is_html else None,
        base_url=result.final_url or url,
    )
