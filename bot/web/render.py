"""Templates and the small helpers pages share: the Jinja2 environment, highlighting matched
words, a sparkline, time formatting and the page every error ends on.

Plain Jinja2 (autoescaped) rather than aiohttp-jinja2: rendering is one call, and the
environment is built once here. Does not read storage or decide access.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from core.models import Hit

from .auth import SessionSigner, optional_session

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SIGNER_KEY = web.AppKey("nw_signer", SessionSigner)
TZ_KEY = web.AppKey("nw_tz", ZoneInfo)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def highlight(text: str, hits: Iterable[Hit], field: str, limit: int | None = None) -> Markup:
    """``text`` escaped, with the hits of ``field`` wrapped in ``<mark>``; cut to ``limit``."""
    spans = sorted({(h.start, h.end) for h in hits if h.field == field})
    end_at = len(text) if limit is None else min(len(text), limit)
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos or start >= end_at:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start : min(end, end_at)])}</mark>")
        pos = min(end, end_at)
    out.append(html.escape(text[pos:end_at]))
    if end_at < len(text):
        out.append("…")
    return Markup("".join(out))


def sparkline(values: Sequence[int], width: int = 120, height: int = 24) -> Markup:
    """A tiny inline SVG line of ``values`` (no script, no library: it is a few points)."""
    if not values:
        return Markup("")
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="matches per day"><polyline points="{points}"/></svg>'
    )


def when(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "—"


_env.globals.update(highlight=highlight, sparkline=sparkline)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render ``template`` with the session, its CSRF token and ``when`` in the context."""
    session = optional_session(request)
    signer = request.app[SIGNER_KEY]
    tz = request.app[TZ_KEY]
    body = _env.get_template(template).render(
        session=session,
        csrf=signer.csrf_token(session) if session else "",
        when=lambda v: when(v, tz),
        path=request.path,
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def render_fragment(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    """A page saying what went wrong, in words; never a stack trace."""
    titles = {400: "Bad request", 401: "Not logged in", 403: "Not allowed", 404: "Not found"}
    return render(
        request,
        "error.html",
        status=status,
        title=titles.get(status, "Something went wrong"),
        message=message,
    )
