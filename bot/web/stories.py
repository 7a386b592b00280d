"""The stories page: the latest matched stories (articles until stories exist), newest first,
filtered by rule, feed, feed tag, language and date, and live as they arrive (server-sent events).

``/`` renders a page; ``/events/stories`` streams each new story, rendered with the same
template, as an SSE event the page's script inserts at the top. The stream asks storage for
stories newer than the last one it sent every ``live_poll_s`` seconds (one indexed query),
so it also sees matches stored by another process. Does not change anything.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from core.models import Article, Language
from storage.console import ConsoleStory

from .render import TZ_KEY, render, render_fragment, when

if TYPE_CHECKING:
    from rules import RuleSet

    from .app import ConsoleDeps

PAGE_SIZE = 25
_FIELDS = ("rule", "feed", "tag", "since", "until", "lang")
LANGUAGES = {
    lang.value: label for lang, label in ((Language.EN, "English"), (Language.VI, "Vietnamese"))
}


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """The filters of the stories page, as given in the query string (all optional)."""

    rule: str = ""
    feed: str = ""
    tag: str = ""
    since: str = ""  # YYYY-MM-DD, inclusive
    until: str = ""  # YYYY-MM-DD, inclusive
    lang: str = ""  # a core.models.Language value: the article's language (articles.language)

    @classmethod
    def from_query(cls, request: web.Request) -> StoryFilter:
        q = request.query
        return cls(*(q.get(k, "").strip()[:200] for k in _FIELDS))

    def query_string(self) -> str:
        return urlencode({k: getattr(self, k) for k in _FIELDS if getattr(self, k)})

    def with_param(self, name: str, value: object) -> str:
        """The query string plus one more parameter (for the older-stories and live links)."""
        qs = self.query_string()
        return f"{qs}&{name}={value}" if qs else f"{name}={value}"


def _day(text: str, label: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise web.HTTPBadRequest(
            text=f"{label}: expected a date like 2025-03-31, got {text!r}"
        ) from None


async def _query(
    deps: ConsoleDeps,
    f: StoryFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[ConsoleStory]:
    feed_urls: list[str] | None = None
    if f.feed or f.tag:
        known = await deps.services.storage.list_feeds()
        feed_urls = [
            s.url
            for s in known
            if (not f.feed or f.feed in (s.url, s.name)) and (not f.tag or f.tag in s.tags)
        ]
        if f.feed and not feed_urls and f.feed.startswith(("http://", "https://")):
            feed_urls = [f.feed]  # a removed feed: its stored matches still name its url
    since_day, until_day = _day(f.since, "from"), _day(f.until, "to")
    if f.lang and f.lang not in LANGUAGES:
        raise web.HTTPBadRequest(text=f"language: expected one of {', '.join(LANGUAGES)}")
    stories = await deps.queries.console_stories(
        rule_ids=[f.rule] if f.rule else None,
        feed_urls=feed_urls,
        since=datetime.combine(since_day, time(), UTC) if since_day else None,
        until=datetime.combine(until_day + timedelta(days=1), time(), UTC) if until_day else None,
        before_key=before,
        after_key=after,
        limit=limit,
        language=f.lang or None,
    )
    return _with_hits(stories, deps.services.rules.current)


def _with_hits(stories: list[ConsoleStory], ruleset: RuleSet) -> list[ConsoleStory]:
    """Stories whose matches were stored without hits (no subscriber when they matched: the
    pipeline located none) get the hits of their title and summary, what the page marks,
    from the rules in force; the same hits as matching the whole article gives there."""
    out: list[ConsoleStory] = []
    for story in stories:
        missing = [m.rule_id for m in story.matches if not m.hits]
        if missing:
            shown = Article(story.feed_url, "", story.title, summary=story.summary)
            found = ruleset.hits_for(shown, missing, if_true=False)
            if found:
                matches = tuple(
                    m if m.hits else replace(m, hits=found.get(m.rule_id, ()))
                    for m in story.matches
                )
                story = replace(story, matches=matches)
        out.append(story)
    return out


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


async def stories_page(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    f = StoryFilter.from_query(request)
    before = _int(request.query.get("before"))
    items = await _query(deps, f, before=before)
    latest = await deps.queries.latest_match_key() if before is None else None
    feeds = await deps.services.storage.list_feeds()
    return render(
        request,
        "stories.html",
        stories=items,
        f=f,
        latest=latest,
        rules=deps.services.rules.current.rules,
        feeds=feeds,
        tags=sorted({t for s in feeds for t in s.tags}),
        languages=LANGUAGES,
        next_before=items[-1].key if len(items) == PAGE_SIZE else None,
        names={r.id: r.name for r in deps.services.rules.current.rules},
    )


async def story_events(request: web.Request) -> web.StreamResponse:
    """SSE: ``event: story`` with the rendered story as data, for each new story."""
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    f = StoryFilter.from_query(request)
    after = _int(request.query.get("after"))
    if after is None:
        after = await deps.queries.latest_match_key()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
        }
    )
    await response.prepare(request)
    tz = request.app[TZ_KEY]
    names = {r.id: r.name for r in deps.services.rules.current.rules}
    await response.write(b": connected\n\n")
    while True:
        new = await _query(deps, f, after=after, limit=PAGE_SIZE)
        for story in reversed(new):  # oldest first, so the newest ends on top
            fragment = render_fragment(
                "story.html", s=story, names=names, when=lambda v: when(v, tz)
            )
            data = json.dumps({"key": story.key, "html": fragment})
            await response.write(f"event: story\nid: {story.key}\ndata: {data}\n\n".encode())
            after = max(after, story.key)
        await asyncio.sleep(deps.live_poll_s)
        # a comment line now and then keeps proxies from closing an idle stream
        await response.write(b": ping\n\n")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", stories_page)
    app.router.add_get("/events/stories", story_events)
