"""The search page: full-text search over stored articles in the rule language, newest first,
with paging and CSV / JSON Lines export of the result.

The query is compiled as a rule (``query.search_rules``) and run over the stored articles by
``bot.search.scan_stored``: the word index picks the candidates, the rule engine decides, so
the same words, phrases, NEAR, aliases and NOT as rules. Filtered by language when asked
(``lang``). Read-only.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from aiohttp import web

from bot.search import scan_stored
from core.errors import RuleError
from core.models import Language

from .query import SEARCH_RULE_ID, search_rules
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


def language_of(request: web.Request) -> str:
    """The ``lang`` filter of the query string: "" (any), or a ``Language`` value."""
    lang = request.query.get("lang", "").strip()
    if lang and lang not in {v.value for v in Language}:
        raise web.HTTPBadRequest(text=f"lang: expected one of en, vi, not {lang[:20]!r}")
    return lang


async def search_page(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    q = request.query.get("q", "").strip()
    lang = language_of(request)
    before_text = request.query.get("before", "")
    before = int(before_text) if before_text.isdigit() else None
    if not q:
        return render(request, "search.html", q="", lang=lang, result=None, error=None)
    try:
        rules = search_rules(q, deps.services.settings.rules_dir)
    except RuleError as e:
        return render(request, "search.html", status=400, q=q, lang=lang, result=None, error=str(e))
    result = await scan_stored(
        deps.queries,
        rules,
        [SEARCH_RULE_ID],
        await _feed_tags(deps),
        before_id=before,
        language=lang or None,
        keep=PAGE_SIZE,
        stop_at=PAGE_SIZE,
    )
    more = not result.complete and result.last_id is not None
    return render(
        request,
        "search.html",
        q=q,
        lang=lang,
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
    lang = language_of(request)
    fmt = request.query.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        raise web.HTTPBadRequest(text=f"export format must be csv or jsonl, not {fmt!r}")
    try:
        rules = search_rules(q, deps.services.settings.rules_dir)
    except RuleError as e:
        raise web.HTTPBadRequest(text=str(e)) from None
    result = await scan_stored(
        deps.queries,
        rules,
        [SEARCH_RULE_ID],
        await _feed_tags(deps),
        language=lang or None,
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
