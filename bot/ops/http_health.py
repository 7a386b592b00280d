"""The operator's HTTP endpoint: liveness, readiness and metrics (aiohttp).

``/healthz``  200 while the process and its event loop answer and every liveness check passes
              (the progress watchdog, ``bot.ops.watchdog``); 503 naming the failed check
              otherwise (liveness; the Docker HEALTHCHECK).
``/readyz``   runs the injected readiness checks concurrently, each with a timeout, and answers 200
              when all pass, 503 otherwise, with a JSON body naming every check.
``/metrics``  the app's ``Metrics`` registry in the Prometheus text format 0.0.4, as
              ``prometheus_client.generate_latest`` renders it.

Does not know how to reach the database, the scheduler or Telegram: the application injects one
async check per dependency (``storage_check``, ``flag_check``, ``telegram_check`` build the usual
ones). Serves nothing else itself and never shows settings or secrets; ``mount`` lets the
application add the web console (``bot.web``) to the same server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from bot.ops.logging_setup import Redactor
from bot.ops.metrics import Metrics
from core.errors import ConfigError
from core.text import plural

if TYPE_CHECKING:
    from storage.base import Storage

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[object]]
"""Passes when it returns anything but ``False``; fails when it returns ``False``, raises or
times out. The exception's message (first line) is shown in ``/readyz``."""

# What generate_latest writes: the 0.0.4 text format, the type prometheus_client's own servers
# send with it unless a scraper asks for another (its CONTENT_TYPE_LATEST says 1.0.0 now).
PROMETHEUS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
_REDACT = Redactor(())  # token-shaped strings only; /readyz knows no configured secrets


def parse_host_port(addr: str, setting: str = "NEWSWATCH_HEALTH_ADDR") -> tuple[str, int]:
    """``"127.0.0.1:8080"``, ``"0.0.0.0:8080"``, ``"[::1]:8080"``, ``":8080"`` -> (host, port)."""
    host, sep, port_text = addr.strip().rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"{setting}: expected host:port, got {addr!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    duration_ms: float


async def _run_check(name: str, check: ReadinessCheck, timeout_s: float) -> CheckResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            outcome = await check()
    except TimeoutError:
        ok, detail = False, f"no answer within {timeout_s:g} s"
    except Exception as e:  # a failing check is a result, never a crash of the endpoint
        first_line = (str(e).strip().splitlines() or [""])[0]
        ok, detail = False, f"{type(e).__name__}: {first_line}" if first_line else type(e).__name__
    else:
        ok = outcome is not False
        detail = "ok" if ok else "failed"
        if isinstance(outcome, str) and outcome:
            detail = outcome
    elapsed_ms = (time.perf_counter() - started) * 1000
    # A library error may quote a Bot API URL, token included: never show one.
    return CheckResult(name, ok, _REDACT(detail), round(elapsed_ms, 1))


class HealthServer:
    """Serves ``/healthz``, ``/readyz`` and ``/metrics`` on ``addr`` (``host:port``).

    An empty ``addr`` disables the server (``start`` and ``stop`` do nothing). ``port`` 0 binds a
    free port; ``bound_port`` tells which after ``start``.
    """

    def __init__(
        self,
        addr: str,
        metrics: Metrics,
        checks: Mapping[str, ReadinessCheck] | None = None,
        *,
        check_timeout_s: float = 5.0,
    ) -> None:
        self._addr = addr.strip()
        self._endpoint = parse_host_port(self._addr) if self._addr else None
        self._metrics = metrics
        self._checks: dict[str, ReadinessCheck] = dict(checks or {})
        self._liveness: dict[str, ReadinessCheck] = {}
        self._check_timeout_s = check_timeout_s
        self._runner: web.AppRunner | None = None
        self._mounts: list[Callable[[web.Application], None]] = []
        self.bound_port: int | None = None

    @property
    def enabled(self) -> bool:
        return self._endpoint is not None

    def add_check(self, name: str, check: ReadinessCheck, *, liveness: bool = False) -> None:
        """Add (or replace) a readiness check; may be called before or after ``start``. With
        ``liveness`` it also decides ``/healthz`` (keep such checks cheap and local: a probe
        that restarts the process must not fail because a remote service is down)."""
        self._checks[name] = check
        if liveness:
            self._liveness[name] = check

    def mount(self, setup: Callable[[web.Application], None]) -> None:
        """Have ``setup(app)`` add more routes to the same server (the web console) when the
        app is made; call before ``start``. Health, readiness and metrics stay as they are."""
        self._mounts.append(setup)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_handler)
        for setup in self._mounts:
            setup(app)
        return app

    async def start(self) -> None:
        """Bind and serve. Raises ``ConfigError`` naming the setting when the address is taken."""
        if self._endpoint is None or self._runner is not None:
            return
        host, port = self._endpoint
        # access_log=None: the Docker health check calls every 30 s; logging it is noise.
        runner = web.AppRunner(
            self.make_app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise ConfigError(
                f"NEWSWATCH_HEALTH_ADDR: cannot listen on {self._addr}: {e.strerror or e}"
            ) from None
        self._runner = runner
        addresses: list[Any] = list(runner.addresses)
        self.bound_port = int(addresses[0][1]) if addresses else port
        log.info(
            "health endpoint listening",
            extra={"addr": f"{host}:{self.bound_port}", "paths": "/healthz /readyz /metrics"},
        )

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def readiness(self) -> tuple[bool, list[CheckResult]]:
        """Run every check concurrently; True when none fails (no checks: ready)."""
        results = await asyncio.gather(
            *(_run_check(n, c, self._check_timeout_s) for n, c in self._checks.items())
        )
        return all(r.ok for r in results), list(results)

    async def _healthz(self, request: web.Request) -> web.Response:
        if not self._liveness:
            return web.json_response({"status": "alive"})
        results = await asyncio.gather(
            *(_run_check(n, c, self._check_timeout_s) for n, c in self._liveness.items())
        )
        failed = {r.name: r.detail for r in results if not r.ok}
        if not failed:
            return web.json_response({"status": "alive"})
        return web.json_response({"status": "stalled", "failed": failed}, status=503)

    async def _readyz(self, request: web.Request) -> web.Response:
        ready, results = await self.readiness()
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {
                r.name: {"ok": r.ok, "detail": r.detail, "duration_ms": r.duration_ms}
                for r in results
            },
        }
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics_handler(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self._metrics.registry),
            headers={"Content-Type": PROMETHEUS_CONTENT_TYPE},
        )


# Ready-made checks ------------------------------------------------------------------------------


def storage_check(storage: Storage) -> ReadinessCheck:
    """The database answers a cheap query (``list_feeds``). Raises the storage error otherwise."""

    async def check() -> str:
        feeds = await storage.list_feeds()
        return f"ok ({plural(len(feeds), 'feed')})"

    return check


def flag_check(is_up: Callable[[], bool], down_message: str) -> ReadinessCheck:
    """Passes while ``is_up()`` is true, e.g. ``lambda: scheduler.running``."""

    async def check() -> bool:
        if not is_up():
            raise RuntimeError(down_message)
        return True

    return check


def cached_check(
    check: ReadinessCheck, ttl_s: float, now: Callable[[], float] = time.monotonic
) -> ReadinessCheck:
    """Reuses a passing result for ``ttl_s`` seconds, so frequent probes do not hammer a remote
    API. Failures are never cached: the next probe asks again."""
    last_ok_at: float | None = None
    last_outcome: object = None

    async def wrapped() -> object:
        nonlocal last_ok_at, last_outcome
        if last_ok_at is not None and now() - last_ok_at < ttl_s:
            return last_outcome
        outcome = await check()
        if outcome is not False:
            last_ok_at, last_outcome = now(), outcome
        return outcome

    return wrapped


class SupportsGetMe(Protocol):
    """What ``telegram_check`` needs from ``telegram.Bot``."""

    async def get_me(self) -> object: ...


def telegram_check(bot: SupportsGetMe, ttl_s: float = 60.0) -> ReadinessCheck:
    """Telegram answers ``getMe`` for our token (cached ``ttl_s`` seconds when it did).

    ``bot`` is an initialised ``telegram.Bot`` (``application.bot``).
    """

    async def check() -> str:
        me = await bot.get_me()
        username = getattr(me, "username", None)
        return f"ok (@{username})" if username else "ok"

    return cached_check(check, ttl_s)


def readiness_checks(
    storage: Storage,
    scheduler_running: Callable[[], bool],
    telegram_bot: SupportsGetMe | None,
) -> dict[str, ReadinessCheck]:
    """The three checks ``/readyz`` runs for a running bot: database, scheduler and (when a token
    is set) Telegram. ``telegram_bot`` is ``None`` in console mode: no Telegram check then."""
    checks: dict[str, ReadinessCheck] = {
        "database": storage_check(storage),
        "scheduler": flag_check(scheduler_running, "the poll scheduler is not running"),
    }
    if telegram_bot is not None:
        checks["telegram"] = telegram_check(telegram_bot)
    return checks
