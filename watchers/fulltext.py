"""Full text for feeds that carry only a short summary: fetch the article page, extract its text.

``FullTextExtractor.enrich`` fills ``Article.content`` for articles whose summary and content are
short, using the shared ``FeedFetcher`` (same user agent, connection limits, timeouts, address
guard and decompressed-size cap) and trafilatura off the event loop. Results are cached by
article identity so a feed's unchanged items are not fetched again on every changed poll. It
never raises: a page that cannot be fetched or extracted leaves the article as it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import replace

import trafilatura

from core.models import Article
from watchers.fetch import FeedFetcher
from watchers.text import plain_text

log = logging.getLogger(__name__)

_HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


def extract_main_text(html: bytes, url: str) -> str:
    """The main text of an HTML page as plain text ("" when nothing article-like is found).

    Pure CPU (call it off the loop). No fetching, no images, no comments.
    """
    try:
        text = trafilatura.extract(
            html,
            url=url,
            include_comments=False,
            include_tables=False,
            include_images=False,
            favor_precision=True,
            deduplicate=False,
        )
    except Exception as e:  # trafilatura/lxml on hostile HTML: degrade, never crash the poll
        log.warning("full text extraction failed url=%s error=%s", url, type(e).__name__)
        return ""
    return plain_text(text or "")


class FullTextExtractor:
    """Fetches and extracts article pages for feeds configured with ``full_text: true``.

    ``min_summary_chars``: articles whose summary/content already has at least this many
    characters are left alone. ``concurrency`` bounds simultaneous page fetches per call.
    ``timeout_s`` (None: none) bounds one ``enrich`` call as a whole: pages not read by then
    are given up (their articles keep their summary) so a page that never answers cannot hold
    up the poll that carries it.
    """

    def __init__(
        self,
        fetcher: FeedFetcher,
        *,
        min_summary_chars: int = 400,
        concurrency: int = 4,
        cache_size: int = 5000,
        timeout_s: float | None = None,
    ) -> None:
        self._fetcher = fetcher
        self.timeout_s = timeout_s
        self.min_summary_chars = min_summary_chars
        self._concurrency = concurrency
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size

    def needs_full_text(self, article: Article) -> bool:
        longest = max(len(article.summary), len(article.content))
        return bool(article.link) and longest < self.min_summary_chars

    async def enrich(self, articles: list[Article]) -> list[Article]:
        """The same articles, in order, with ``content`` filled where a page could be read."""
        sem = asyncio.Semaphore(self._concurrency)

        async def one(a: Article) -> Article:
            if not self.needs_full_text(a):
                return a
            async with sem:
                text = await self.text_for(a)
            if len(text) <= len(a.summary):
                return a
            return replace(a, content=text)

        tasks = [asyncio.ensure_future(one(a)) for a in articles]
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=self.timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            log.info(
                "full text: %d page(s) not read within %g s; those articles keep their summary",
                len(pending),
                self.timeout_s,
            )
            await asyncio.gather(*pending, return_exceptions=True)
        return [
            task.result() if task in done and task.exception() is None else article
            for task, article in zip(tasks, articles, strict=True)
        ]

    async def text_for(self, article: Article) -> str:
        """The extracted page text of one article ("" on any problem), cached by identity."""
        cached = self._cache.get(article.identity)
        if cached is not None:
            self._cache.move_to_end(article.identity)
            return cached
        assert article.link is not None
        result = await self._fetcher.fetch(article.link, accept=_HTML_ACCEPT)
        if not result.ok or result.body is None:
            log.info("full text fetch failed url=%s error=%s", article.link, result.error)
            return ""  # not cached: a transient failure may succeed on the next changed poll
        ctype = (result.content_type or "text/html").lower()
        if "html" not in ctype and "xml" not in ctype:
            text = ""
        else:
            text = await asyncio.to_thread(
                extract_main_text, result.body, result.final_url or article.link
            )
        self._cache[article.identity] = text
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return text
