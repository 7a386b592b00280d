"""The rules page: every rule with its recent match counts and a sparkline, and an editor for
a rule file with errors shown as you type and a live backtest preview.

Errors are ``rules check``'s own (the folder compiled with the edited file in place,
``query.candidate_rules``), with their line and column. The preview replays the edited file's
rules over the last ``PREVIEW_DAYS`` days of stored articles (``bot.search.scan_stored``: the
word index's candidates, then the engine). Saving (admins
only) refuses invalid text, writes the file atomically and asks the rules reloader to load the
folder, the same path as an edit on disk: if the reloader still rejects it, the last good rules
stay in force and the page says so.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.config.feeds_file import write_file_atomically
from bot.config.rule_files import rule_files
from bot.search import scan_stored
from bot.trends.local_days import day_bounds
from bot.trends.series import day_counts
from core.errors import RuleError
from core.text import plural

from .auth import require_admin, session_of
from .query import candidate_rules
from .render import TZ_KEY, render, render_fragment, when

if TYPE_CHECKING:
    from .app import ConsoleDeps

PREVIEW_DAYS = 30
PREVIEW_LIST = 20
MAX_RULE_FILE_CHARS = 500_000
_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,80}\.ya?ml$")
_PLACE = re.compile(r":(\d+):(\d+): ")
NEW_RULE_TEMPLATE = """rules:
  - id: my-rule
    name: My rule
    query: '"East Sea" AND NOT football'
"""


def _checked_name(name: str) -> str:
    name = name.strip()
    if not _FILE_NAME.match(name) or ".." in name:
        raise web.HTTPBadRequest(
            text=f"{name!r} is not a rule file name (lower-case letters, digits, - and _, "
            "ending in .yaml)"
        )
    return name


async def rules_list(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    now = deps.services.clock.now()
    # The deployment's days, as on the trends page (bot/trends/local_days.py)
    tz = request.app[TZ_KEY]
    bounds = day_bounds(now.astimezone(tz).date(), PREVIEW_DAYS, tz)
    series = await day_counts(deps.queries, bounds)
    rules = deps.services.rules.current.compiled_rules
    rows = [
        {
            "id": r.info.id,
            "name": r.info.name,
            "query": r.query,
            "file": r.source.split(":", 1)[0].rsplit("/", 1)[-1],
            "week": sum(series.get(r.info.id, [0] * PREVIEW_DAYS)[-7:]),
            "month": sum(series.get(r.info.id, [])),
            "series": series.get(r.info.id, [0] * PREVIEW_DAYS),
        }
        for r in rules
    ]
    return render(request, "rules.html", rows=rows)


def _file_text(deps: ConsoleDeps, name: str) -> str | None:
    path = deps.services.settings.rules_dir / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


async def rule_editor(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    deps = request.app[DEPS_KEY]
    new = request.path.endswith("/new")
    if new:
        name, text = request.query.get("file", "new-rules.yaml"), NEW_RULE_TEMPLATE
    else:
        name = _checked_name(request.query.get("file", ""))
        found = await asyncio.to_thread(_file_text, deps, name)
        if found is None:
            raise web.HTTPNotFound()
        text = found
    return render(request, "rule_edit.html", name=name, text=text, new=new, message=None)


async def _check(deps: ConsoleDeps, name: str, text: str, preview: bool) -> dict[str, object]:
    """The validation and preview answer the editor's script shows."""
    rules_dir = deps.services.settings.rules_dir
    try:
        rules, ids = await asyncio.to_thread(candidate_rules, rules_dir, name, text)
    except RuleError as e:
        message = str(e)
        place = _PLACE.search(message)
        return {
            "ok": False,
            "error": message,
            "line": int(place.group(1)) if place else None,
            "col": int(place.group(2)) if place else None,
        }
    answer: dict[str, object] = {"ok": True, "rules": ids}
    if preview and ids:
        since = deps.services.clock.now() - timedelta(days=PREVIEW_DAYS)
        tags = {f.url: f.tags for f in await deps.services.storage.list_feeds()}
        result = await scan_stored(deps.queries, rules, ids, tags, since=since, keep=PREVIEW_LIST)
        tz = deps.services.settings.tz
        answer["preview"] = render_fragment(
            "rule_preview.html",
            result=result,
            ids=ids,
            days=PREVIEW_DAYS,
            when=lambda v: when(v, tz),
        )
    return answer


async def rule_check(request: web.Request) -> web.StreamResponse:
    """JSON: ``{ok, error, line, col}`` or ``{ok, rules, preview}`` for the text being edited."""
    from .app import DEPS_KEY

    session_of(request)
    deps = request.app[DEPS_KEY]
    body = await request.json()
    name = _checked_name(str(body.get("file", "")))
    text = str(body.get("text", ""))[:MAX_RULE_FILE_CHARS]
    return web.json_response(await _check(deps, name, text, bool(body.get("preview", True))))


async def rule_save(request: web.Request) -> web.StreamResponse:
    from .app import DEPS_KEY

    require_admin(request)
    deps = request.app[DEPS_KEY]
    form = await request.post()
    name = _checked_name(str(form.get("file", "")))
    text = str(form.get("text", "")).replace("\r\n", "\n")
    if len(text) > MAX_RULE_FILE_CHARS:
        raise web.HTTPBadRequest(text="the rule file is too long")
    checked = await _check(deps, name, text, preview=False)
    if not checked["ok"]:
        return render(
            request,
            "rule_edit.html",
            status=400,
            name=name,
            text=text,
            new=False,
            message=f"Not saved: {checked['error']}",
            failed=True,
        )
    rules_dir = deps.services.settings.rules_dir
    await asyncio.to_thread(write_file_atomically, rules_dir / name, text)
    in_force = await deps.reload_rules()
    count = len(deps.services.rules.current.rules)
    if in_force:
        message = f"Saved {name}; {plural(count, 'rule')} in force."
    else:
        message = (
            f"Saved {name}, but the reload rejected the folder; the last good "
            f"{plural(count, 'rule')} stay in force."
        )
    return render(
        request,
        "rule_edit.html",
        name=name,
        text=text,
        new=False,
        message=message,
        failed=not in_force,
    )


async def rule_files_list(deps: ConsoleDeps) -> list[str]:
    try:
        return [p.name for p in rule_files(deps.services.settings.rules_dir)]
    except RuleError:
        return []


def add_routes(app: web.Application) -> None:
    app.router.add_get("/rules", rules_list)
    app.router.add_get("/rules/edit", rule_editor)
    app.router.add_get("/rules/new", rule_editor)
    app.router.add_post("/rules/check", rule_check)
    app.router.add_post("/rules/save", rule_save)
