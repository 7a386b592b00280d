"""Wiring: ``mount_console`` adds the console's pages, login and access control to an aiohttp
application (the health server's), and ``ConsoleDeps`` is everything the pages need.

Also the two middlewares every page passes through: access (``auth.access_middleware``) and
errors (an HTTP error or an unexpected exception becomes a page that says what happened, never a
stack trace; the exception goes to the log). Holds no page logic: each page is its own module.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from bot.services import Services
from storage.console import ConsoleQueries

from . import feeds, rules_page, search, stories, trends_page
from .auth import (
    SESSION_COOKIE,
    LoginLinks,
    SessionSigner,
    access_middleware,
    session_of,
    set_session_cookie,
    token_matches,
)
from .render import SIGNER_KEY, STATIC, TZ_KEY, error_page, render

log = logging.getLogger(__name__)


class FeedActions(Protocol):
    """Adding, removing, pausing feeds (``bot.runtime.admin_actions.AppAdminActions`` does it);
    each returns a one-line message for the page."""

    async def add_feed(self, url: str) -> str: ...

    async def remove_feed(self, url: str) -> str: ...

    async def set_feed_enabled(self, url: str, enabled: bool) -> str:
        """Pause or resume a feed (``enabled: false`` in the feeds file)."""
        ...


@dataclass(slots=True)
class ConsoleDeps:
    """What the console's pages use. ``queries`` is the storage (``SqlStorage``) seen through
    the console's read-only protocol; ``reload_rules`` is ``RuleReloader.reload_now``."""

    services: Services
    queries: ConsoleQueries
    reload_rules: Callable[[], Awaitable[bool]]
    feed_actions: FeedActions | None = None
    links: LoginLinks = field(default_factory=LoginLinks)
    web_token: str | None = None
    secret: str | bytes | None = None  # the signing key (``auth.console_signing_key``)
    live_poll_s: float = 2.0


DEPS_KEY = web.AppKey("nw_deps", ConsoleDeps)


def _refused(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if "text/html" in request.headers.get("Accept", "") or request.method == "GET":
        return error_page(request, status, message)
    return web.json_response({"ok": False, "error": message}, status=status)


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRedirection:
        raise
    except web.HTTPException as e:
        if request.path in ("/healthz", "/readyz", "/metrics"):
            raise
        text = e.text if e.text and not e.text.startswith(f"{e.status}:") else e.reason
        if e.status == 404:
            text = f"There is no page at {request.path}."
        return _refused(request, e.status, text or e.reason)
    except Exception:
        log.exception("console page %s failed", request.path)
        return _refused(request, 500, "Something went wrong on our side; it has been logged.")


def mount_console(app: web.Application, deps: ConsoleDeps) -> None:
    """Add the console to ``app`` (before it starts). Serves every page under ``/``."""
    signer = SessionSigner(deps.secret)
    app[DEPS_KEY] = deps
    app[SIGNER_KEY] = signer
    app[TZ_KEY] = deps.services.settings.tz
    app.middlewares.append(_errors)
    app.middlewares.append(access_middleware(signer, _refused))
    app.middlewares.append(_security_headers)
    app.router.add_get("/login", _login_form)
    app.router.add_post("/login", _login_with_token)
    app.router.add_get("/login/{token}", _login_link_page)
    app.router.add_post("/login/{token}", _login_with_link)
    app.router.add_post("/logout", _logout)
    app.router.add_static("/static/", STATIC, append_version=False)
    stories.add_routes(app)
    search.add_routes(app)
    rules_page.add_routes(app)
    feeds.add_routes(app)
    trends_page.add_routes(app)


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    # no inline script or style anywhere; a login link must not leak through Referer
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin: no Referer (with a login link in it) leaves the site, and our own forms
    # still carry a real Origin (with no-referrer, browsers send "Origin: null")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _logged_in(request: web.Request, user_id: int, admin: bool) -> web.StreamResponse:
    _session, cookie = request.app[SIGNER_KEY].new_session(user_id, admin)
    response = web.Response(status=303, headers={"Location": "/"})
    set_session_cookie(response, request, cookie)
    log.info("console login", extra={"user": user_id, "admin": admin})
    return response


async def _login_form(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS_KEY]
    return render(request, "login.html", token_login=deps.web_token is not None)


async def _login_with_token(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS_KEY]
    form = await request.post()
    if not token_matches(str(form.get("token", "")), deps.web_token):
        return render(
            request,
            "login.html",
            status=403,
            token_login=deps.web_token is not None,
            message="That token is not right.",
        )
    return _logged_in(request, 0, True)


_BAD_LINK = (
    "This login link is not valid: it was already used, has expired, or was never sent. "
    "Send /web to the bot for a new one."
)


async def _login_link_page(request: web.Request) -> web.StreamResponse:
    """Shows a button rather than logging in on GET: link previews and scanners that fetch
    the URL must not use the link up."""
    deps = request.app[DEPS_KEY]
    token = request.match_info["token"]
    if not await deps.links.peek(token):
        return render(request, "login.html", status=403, message=_BAD_LINK, token_login=False)
    return render(request, "login.html", link_token=token)


async def _login_with_link(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS_KEY]
    redeemed = await deps.links.redeem(request.match_info["token"])
    if redeemed is None:
        return render(request, "login.html", status=403, message=_BAD_LINK, token_login=False)
    return _logged_in(request, *redeemed)


async def _logout(request: web.Request) -> web.StreamResponse:
    session_of(request)
    response = web.Response(status=303, headers={"Location": "/login"})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
