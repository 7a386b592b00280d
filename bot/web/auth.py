"""Who may see the console: one-time login links, the env token, sessions and CSRF.

* ``LoginLinks`` issues one-time links (valid ``ttl_s``, usable once) for a Telegram user the
  bot knows (``/web``). A link is signed, not stored: ``{user, admin, expiry, nonce}`` with an
  HMAC-SHA256 under the console's key, so any replica with the same key can check it; "used
  once" is a compare-and-set on the link's nonce in the database (``share``), so a link opened
  on two replicas logs in once. Before ``share`` (and in tests without storage) the key is
  random and the used nonces are kept in memory.
* ``NEWSWATCH_WEB_TOKEN`` logs in as an admin where there is no Telegram (compared in constant
  time).
* A session is a cookie holding ``{user, admin, expiry, nonce}`` signed with HMAC-SHA256
  under the console's key (``NEWSWATCH_WEB_SECRET``, else a random key made once and kept in
  the database, shared by every replica; ``console_signing_key``);
  HTTP-only, SameSite=Lax, Secure when the request came over HTTPS.
* CSRF: every POST carries a token derived from the session (form field ``_csrf`` or header
  ``X-CSRF-Token``), and a cross-site ``Origin`` is refused outright.

Does not render pages (``render``) and does not know which page needs an admin: the routes ask
``require_admin``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from storage.console import ConsoleAuthStore

SESSION_COOKIE = "nw_session"
SESSION_TTL_S = 12 * 3600
LINK_TTL_S = 600
# The Telegram webhook (bot.telegram.webhook.WEBHOOK_PATH) checks its own secret header.
PUBLIC_PATHS = ("/healthz", "/readyz", "/metrics", "/login", "/static/", "/telegram/webhook")


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in person: their Telegram id (0 for the env token) and whether they may edit."""

    user_id: int
    admin: bool
    expires_at: float
    nonce: str


class LoginLinks:
    """One-time login links. ``issue`` signs one; ``peek`` checks it; ``redeem`` uses it up."""

    def __init__(self, ttl_s: float = LINK_TTL_S, now: Callable[[], float] = time.time) -> None:
        self._ttl_s = ttl_s
        self._now = now
        self._key = secrets.token_bytes(32)
        self._store: ConsoleAuthStore | None = None
        self._used: dict[str, float] = {}  # nonce -> expiry, while no store is shared

    def share(self, key: bytes, store: ConsoleAuthStore) -> None:
        """Sign with ``key`` and record used links in ``store`` from now on (every replica
        calls this with the same key and database)."""
        self._key = key
        self._store = store

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, f"login:{payload}".encode(), hashlib.sha256).digest())

    def issue(self, user_id: int, admin: bool) -> str:
        """A fresh link token for ``user_id`` (nothing stored)."""
        data = {"u": user_id, "a": admin, "e": int(self._now() + self._ttl_s)}
        payload = _b64(json.dumps(data | {"n": secrets.token_urlsafe(16)}).encode())
        return f"{payload}.{self._mac(payload)}"

    def _read(self, token: str) -> tuple[int, bool, float, str] | None:
        payload, _, mac = token.rpartition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            link = (int(data["u"]), bool(data["a"]), float(data["e"]), str(data["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        return link if link[2] > self._now() else None

    async def peek(self, token: str) -> bool:
        """True when ``token`` is valid and unused (shown on the confirm page; not used up)."""
        link = self._read(token)
        if link is None:
            return False
        if self._store is not None:
            return not await self._store.login_link_used(link[3])
        return link[3] not in self._used

    async def redeem(self, token: str) -> tuple[int, bool] | None:
        """(user id, admin), and the link is used up; None for a forged, used or old one."""
        link = self._read(token)
        if link is None:
            return None
        user_id, admin, expires, nonce = link
        if self._store is not None:
            at = datetime.fromtimestamp(self._now(), UTC)
            fresh = await self._store.use_login_link(
                nonce, datetime.fromtimestamp(expires, UTC), at
            )
        else:
            now = self._now()
            self._used = {n: e for n, e in self._used.items() if e > now}
            fresh = nonce not in self._used
            self._used[nonce] = expires
        return (user_id, admin) if fresh else None


async def console_signing_key(secret: str | None, store: ConsoleAuthStore) -> bytes:
    """The key sessions and login links are signed with: from ``NEWSWATCH_WEB_SECRET`` when
    set, else the random one kept in the database (made by the first replica that asks)."""
    text = secret or await store.console_key("console-signing", lambda: secrets.token_hex(32))
    return hashlib.sha256(text.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and checks session cookies and derives each session's CSRF token."""

    def __init__(self, secret: str | bytes | None, now: Callable[[], float] = time.time) -> None:
        # ``bytes``: the console's key as ``console_signing_key`` made it. Without any, a
        # per-process key (tests): safe, but sessions end at a restart.
        if isinstance(secret, bytes):
            self._key = secret
        else:
            self._key = hashlib.sha256((secret or secrets.token_hex(32)).encode()).digest()
        self._now = now

    def _mac(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}:{payload}".encode(), hashlib.sha256).digest())

    def new_session(self, user_id: int, admin: bool) -> tuple[Session, str]:
        session = Session(user_id, admin, self._now() + SESSION_TTL_S, secrets.token_hex(8))
        payload = _b64(
            json.dumps(
                {"u": user_id, "a": admin, "e": int(session.expires_at), "n": session.nonce}
            ).encode()
        )
        return session, f"{payload}.{self._mac('session', payload)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session in a cookie value; None when absent, forged, malformed or expired."""
        if not cookie or "." not in cookie:
            return None
        payload, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(int(data["u"]), bool(data["a"]), float(data["e"]), str(data["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires_at > self._now() else None

    def csrf_token(self, session: Session) -> str:
        return self._mac("csrf", f"{session.user_id}:{session.nonce}")

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(session))


def token_matches(given: str | None, expected: str | None) -> bool:
    """The env token check: constant time, and never true when no token is configured."""
    return bool(given and expected) and hmac.compare_digest(str(given), str(expected))


def set_session_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )


def _is_public(path: str) -> bool:
    return any(
        path == p or (p.endswith("/") and path.startswith(p)) or path.startswith(p + "/")
        for p in PUBLIC_PATHS
    )


def _cross_site(request: web.Request) -> bool:
    """A browser's ``Origin`` (or, failing that, ``Referer``) naming another host."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != request.host


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def access_middleware(
    signer: SessionSigner, on_refused: Callable[[web.Request, int, str], web.StreamResponse]
) -> Middleware:
    """Every path but health, login and static files needs a session; every POST (login too)
    must come from our own origin, and a POST with a session must carry its CSRF token."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and _cross_site(request):
            return on_refused(request, 403, "This form was sent from another site; refused.")
        if _is_public(request.path):
            return await handler(request)
        session = signer.read(request.cookies.get(SESSION_COOKIE))
        if session is None:
            if request.method == "GET" and "text/event-stream" not in request.headers.get(
                "Accept", ""
            ):
                raise web.HTTPSeeOther("/login")
            return on_refused(request, 401, "Please log in again (your session ended).")
        if request.method == "POST":
            token = request.headers.get("X-CSRF-Token")
            if token is None and request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                token = str((await request.post()).get("_csrf", ""))
            if not signer.csrf_ok(session, token):
                return on_refused(request, 403, "This form has expired; reload the page.")
        request[SESSION_REQUEST_KEY] = session
        return await handler(request)

    return middleware


SESSION_REQUEST_KEY = web.RequestKey("nw_session", Session)


def session_of(request: web.Request) -> Session:
    """The request's session (the middleware put it there; public pages have none)."""
    session = request.get(SESSION_REQUEST_KEY)
    if not isinstance(session, Session):
        raise web.HTTPSeeOther("/login")
    return session


def optional_session(request: web.Request) -> Session | None:
    session = request.get(SESSION_REQUEST_KEY)
    return session if isinstance(session, Session) else None


def require_admin(request: web.Request) -> Session:
    """The session, when it belongs to an admin; else a 403 the error page explains."""
    session = session_of(request)
    if not session.admin:
        raise web.HTTPForbidden(text="Only the bot's admins may change this.")
    return session
