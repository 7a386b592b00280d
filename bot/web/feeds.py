"""The feeds page: every feed's health (last success, last error, next check, items per day over
the last week) and, for admins, adding a feed (a page URL leads to its feed: discovery),
removing one, and pausing or resuming one (``enabled: false`` in the feeds file).

Adding and removing go through the injected ``FeedActions`` (the same code as ``/addfeed`` and
``/removefeed``: checked, written atomically, applied by the feeds reloader). Reads storage;
does not edit the feeds file itself.
"""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp import web

from .auth import require_admin
from .render import render

WEEK = timedelta(days=7)
_URL = re.compile(r"^https?://[^\s/]+\S*$")


async def _page(
    request: web.Request, message: str | None = None, failed: bool = False, status: int = 200
) -> web.Response:
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    now = deps.services.clock.now()
    feeds = await deps.services.storage.list_feeds()
    counts = await deps.queries.article_counts_per_feed(now - WEEK)
    return render(
        request,
        "feeds.html",
        status=status,
        feeds=feeds,
        per_day={url: n / 7 for url, n in counts.items()},
        message=message,
        failed=failed,
        can_edit=deps.feed_actions is not None,
    )


async def feeds_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def feed_add(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    require_admin(request)
    deps = request.app[DEPS_KEY]
    url = str((await request.post()).get("url", "")).strip()
    if not _URL.match(url):
        return await _page(
            request, f"{url!r} is not a web address starting with http(s)://.", True, 400
        )
    if deps.feed_actions is None:
        return await _page(request, "Feed editing is not available in this process.", True, 503)
    message = await deps.feed_actions.add_feed(url)
    failed = message.startswith("cannot")
    return await _page(request, message, failed, 400 if failed else 200)


async def feed_remove(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    require_admin(request)
    deps = request.app[DEPS_KEY]
    url = str((await request.post()).get("url", "")).strip()
    if deps.feed_actions is None:
        return await _page(request, "Feed editing is not available in this process.", True, 503)
    message = await deps.feed_actions.remove_feed(url)
    return await _page(request, message, not message.startswith("Removed"))


async def feed_pause(request: web.Request) -> web.StreamResponse:
    """Pause (``/feeds/pause``) or resume (``/feeds/resume``) a feed: ``enabled: false``."""
    from .app import DEPS_KEY

    require_admin(request)
    deps = request.app[DEPS_KEY]
    url = str((await request.post()).get("url", "")).strip()
    if deps.feed_actions is None:
        return await _page(request, "Feed editing is not available in this process.", True, 503)
    enabled = request.path.endswith("/resume")
    message = await deps.feed_actions.set_feed_enabled(url, enabled)
    return await _page(request, message, not message.startswith(("Paused", "Resumed")))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/feeds", feeds_page)
    app.router.add_post("/feeds/add", feed_add)
    app.router.add_post("/feeds/remove", feed_remove)
    app.router.add_post("/feeds/pause", feed_pause)
    app.router.add_post("/feeds/resume", feed_pause)
