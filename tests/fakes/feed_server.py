"""A real HTTP server on 127.0.0.1 (port 0) that tests program route by route."""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FeedServer:
    """Routes are plain handlers keyed by path; every request is recorded in ``seen``."""

    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    port: int = 0
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def static(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "application/rss+xml; charset=utf-8",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        gzip_body: bool = False,
    ) -> str:
        """Serve a fixed body; with ``etag``, answer 304 to a matching If-None-Match."""
        data = body.encode() if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.StreamResponse:
            if etag is not None and request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            h = dict(headers or {})
            h["Content-Type"] = content_type
            if etag is not None:
                h["ETag"] = etag
            payload = data
            if gzip_body:
                payload = gzip.compress(data)
                h["Content-Encoding"] = "gzip"
            return web.Response(status=status, body=payload, headers=h)

        return self.route(path, handler)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        self.seen.append(Seen(path, dict(request.headers)))
        self.hits[path] += 1
        handler = self.routes.get(path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)
