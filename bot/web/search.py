"""The search page: full-text search over stored articles in the rule language, newest first,
with paging and CSV / JSON Lines export of the result.

The query is compiled as a rule (``query.search_rules``) and run over the stored articles
(``query.scan``): the same words, phrases, NEAR, aliases and NOT as rules. Read-only.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from aiohttp import web

from core.errors import RuleError

from .query import SEARCH_RULE_ID, scan, search_rules
from .render import render

if TYPE_CHECKING:
    from .app import ConsoleDeps

PAGE_SIZE = 25
EXPORT_MAX = 10_000
EXPORT_COLUMNS = (
    "article_id",
    "first_seen_at",
    "published_at",
    "title",
    "link",
    "feed_url",
    "matched_words",
)


async def _feed_tags(deps: ConsoleDeps) -> dict[str, tuple[str, ...]]:
    return {f.url: f.tags for f in await deps.services.storage.list_feeds()}


async def search_page(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    q = request.query.get("q", "").strip()
    before_text = request.query.get("before", "")
    before = int(before_text) if before_text.isdigit() else None
    if not q:
        return render(request, "search.html", q="", result=None, error=None)
    try:
        rules = search_rules(q, deps.services.settings.rules_dir)
    except RuleError as e:
        return render(request, "search.html", status=400, q=q, result=None, error=str(e))
    result = await scan(
        rules,
        [SEARCH_RULE_ID],
        deps.queries.articles_newest_first(before_id=before),
        await _feed_tags(deps),
        keep=PAGE_SIZE,
        stop_at=PAGE_SIZE,
    )
    more = not result.complete and result.last_id is not None
    return render(
        request,
        "search.html",
        q=q,
        result=result,
        error=None,
        next_before=result.last_id if more else None,
        paged=before is not None,
    )


async def search_export(request: web.Request) -> web.StreamResponse:
    """The whole result (up to ``EXPORT_MAX`` articles) as CSV or JSON Lines."""
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    q = request.query.get("q", "").strip()
    fmt = request.query.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        raise web.HTTPBadRequest(text=f"export format must be csv or jsonl, not {fmt!r}")
    try:
        rules = search_rules(q, deps.services.settings.rules_dir)
    except RuleError as e:
        raise web.HTTPBadRequest(text=str(e)) from None
    result = await scan(
        rules,
        [SEARCH_RULE_ID],
        deps.queries.articles_newest_first(),
        await _feed_tags(deps),
        keep=EXPORT_MAX,
        stop_at=EXPORT_MAX,
        budget_s=60.0,
    )
    buf = io.StringIO()
    writer = csv.writer(buf) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    for stored, fired in result.hits:
        a = stored.article
        words = sorted({h.term for m in fired for h in m.hits})
        record = {
            "article_id": stored.article_id,
            "first_seen_at": stored.first_seen_at.isoformat(),
            "published_at": a.published_at.isoformat() if a.published_at else None,
            "title": a.title,
            "link": a.link,
            "feed_url": a.feed_url,
            "matched_words": words,
        }
        if writer is not None:
            writer.writerow(
                ["; ".join(words) if c == "matched_words" else record[c] for c in EXPORT_COLUMNS]
            )
        else:
            buf.write(json.dumps(record, ensure_ascii=False) + "\n")
    ctype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return web.Response(
        text=buf.getvalue(),
        content_type=ctype,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="newswatch-search.{fmt}"'},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/search", search_page)
    app.router.add_get("/search/export", search_export)
