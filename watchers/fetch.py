"""HTTP for feeds: one shared aiohttp session, polite limits, and results instead of exceptions.

``FeedFetcher`` does one conditional GET per call, follows redirects itself (so every hop passes
the address guard and permanent redirects can be recorded), reads the *decompressed* body as a
stream under a size cap, and reports everything - status, body, validators, redirect, error - in
a ``FetchResult``. It never raises for HTTP or network problems. It does not parse, schedule or
store anything.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from watchers.schedule import PollSettings

DEFAULT_MAX_BODY_BYTES: Final = 10 * 1024 * 1024
DEFAULT_USER_AGENT: Final = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS: Final = frozenset({301, 308})
_CHUNK: Final = 64 * 1024
# Cloud metadata endpoints that are not all covered by the link-local check (AWS IPv6, Alibaba).
_METADATA_NETWORKS: Final = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fd00:ec2::/32"),
    ipaddress.ip_network("100.100.100.200/32"),
)


class BlockedAddressError(OSError):
    """A feed URL resolves to an address the operator has not allowed (loopback, private...)."""


def blocked_reason(address: str) -> str | None:
    """Why ``address`` (an IP literal) must not be fetched, or None when it is a public address.

    Pure: does no DNS. Covers loopback, private, link-local, cloud metadata, multicast,
    reserved and unspecified ranges, including IPv4 addresses mapped into IPv6.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _METADATA_NETWORKS):
        return f"{ip} is a link-local or cloud metadata address"
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return f"{ip} is not a public unicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return f"{ip} is a carrier-grade NAT address"
    return None


def resolves_to(host: str, address: str, reason: str) -> str:
    """One sentence for a name whose address is refused: "localhost resolves to 127.0.0.1,
    which is a loopback address" (``reason`` as ``blocked_reason`` words it)."""
    address = address.split("%", 1)[0]
    for shown in (address, str(_plain_ip(address))):
        if reason.startswith(f"{shown} is "):
            return f"{host} resolves to {shown}, which {reason[len(shown) + 1 :]}"
    return f"{host} resolves to {address}: {reason}"


def _plain_ip(address: str) -> object:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class GuardedResolver(AbstractResolver):
    """A resolver that refuses names resolving to non-public addresses.

    Checking at resolution time (not only before the request) closes the DNS-rebinding gap:
    the address checked is the address connected to.
    """

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        policy: Callable[[str], str | None] = blocked_reason,
    ) -> None:
        self._inner = inner or ThreadedResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for r in results:
            reason = self._policy(r["host"])
            if reason is not None:
                raise BlockedAddressError(resolves_to(host, r["host"], reason))
        return results

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one GET. ``status`` is 0 when no HTTP response arrived.

    ``error`` is a one-line message for anything that is not a usable 200 or 304 (network
    failure, timeout, blocked address, oversize body, 4xx/5xx). ``headers`` are the final
    response's headers with lower-case names. ``permanent_redirect_to`` is set only when every
    hop from the requested URL was a 301/308.
    """

    url: str
    status: int = 0
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    final_url: str | None = None
    permanent_redirect_to: str | None = None
    not_modified: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and (self.not_modified or self.body is not None)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class FeedFetcher:
    """One shared HTTP session for all feed and article fetches.

    Use as ``async with FeedFetcher(user_agent=...) as fetcher:``. Limits: ``total_connections``
    across all hosts, ``per_host_connections`` per (host, port); ``connect_timeout_s`` for the
    TCP/TLS handshake, ``read_timeout_s`` between bytes, ``total_timeout_s`` for the whole
    request. ``allow_private`` lifts the address guard (tests on 127.0.0.1, intranet feeds).
    ``resolver`` and ``address_policy`` are seams for tests (a fake DNS, a stricter policy).
    """

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        total_connections: int = 64,
        per_host_connections: int = 4,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 30.0,
        total_timeout_s: float = 60.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_redirects: int = 5,
        allow_private: bool = False,
        resolver: AbstractResolver | None = None,
        address_policy: Callable[[str], str | None] = blocked_reason,
    ) -> None:
        self.user_agent = user_agent
        self._resolver = resolver
        self._policy = address_policy
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self._total_connections = total_connections
        self._per_host_connections = per_host_connections
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout_s, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._session: aiohttp.ClientSession | None = None
        self._dns: AbstractResolver | None = None

    @classmethod
    def from_poll_settings(
        cls, settings: PollSettings, *, user_agent: str, **overrides: Any
    ) -> FeedFetcher:
        """A fetcher with the body cap and address policy of ``settings``."""
        kwargs: dict[str, Any] = {
            "user_agent": user_agent,
            "max_body_bytes": settings.max_body_bytes,
            "allow_private": settings.allow_private,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    async def __aenter__(self) -> FeedFetcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self._session is not None:
            return
        inner = self._resolver or ThreadedResolver()
        resolver: AbstractResolver = (
            inner if self.allow_private else GuardedResolver(inner, self._policy)
        )
        self._dns = inner
        connector = aiohttp.TCPConnector(
            limit=self._total_connections,
            limit_per_host=self._per_host_connections,
            resolver=resolver,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            headers={"User-Agent": self.user_agent},
            # Cookies from one feed must never leak into requests for another.
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._dns is not None:
            await self._dns.close()
            self._dns = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("FeedFetcher used outside 'async with' (call start() first)")
        return self._session

    async def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        *,
        allow_private: bool | None = None,
        accept: str = (
            "application/rss+xml, application/atom+xml, application/rdf+xml, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
        ),
    ) -> FetchResult:
        """GET ``url`` with the stored validators. Never raises for HTTP or network problems.

        ``allow_private=False`` tightens the guard for one call (adding a feed) even when the
        fetcher allows private addresses; it cannot loosen a fetcher that does not.
        """
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        private_ok = self.allow_private if allow_private is None else allow_private
        current = url
        permanent: str | None = None
        all_permanent = True
        seen: set[str] = {url}
        try:
            for _hop in range(self.max_redirects + 1):
                problem = await self._check_url(current, private_ok)
                if problem is not None:
                    return FetchResult(url=url, error=problem, final_url=current)
                async with self.session.get(
                    current, headers=headers, allow_redirects=False
                ) as resp:
                    if resp.status in _REDIRECT_STATUSES and "location" in resp.headers:
                        target = urljoin(current, resp.headers["location"])
                        if resp.status in _PERMANENT_REDIRECTS and all_permanent:
                            permanent = target
                        else:
                            all_permanent = False
                        if target in seen:
                            return FetchResult(
                                url=url,
                                status=resp.status,
                                final_url=target,
                                error=f"redirect loop at {target}",
                            )
                        seen.add(target)
                        current = target
                        continue
                    return await self._read(url, current, permanent, resp)
            return FetchResult(
                url=url, final_url=current, error=f"more than {self.max_redirects} redirects"
            )
        except BlockedAddressError as e:
            return FetchResult(url=url, final_url=current, error=f"blocked address: {e}")
        except TimeoutError:
            return FetchResult(url=url, final_url=current, error="timed out")
        except aiohttp.ClientConnectorError as e:
            cause = e.os_error
            if isinstance(cause, BlockedAddressError):
                return FetchResult(url=url, final_url=current, error=f"blocked address: {cause}")
            return FetchResult(url=url, final_url=current, error=_connect_problem(e))
        except aiohttp.ClientPayloadError as e:
            return FetchResult(url=url, final_url=current, error=f"broken body: {_one_line(e)}")
        except (aiohttp.ClientError, ssl.SSLError, OSError, ValueError) as e:
            return FetchResult(
                url=url, final_url=current, error=f"{type(e).__name__}: {_one_line(e)}"
            )

    async def _check_url(self, url: str, private_ok: bool) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"unsupported URL scheme {parts.scheme!r} (only http and https)"
        host = parts.hostname
        if not host:
            return f"URL has no host: {url!r}"
        if private_ok:
            return None
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            # A name: checked now (for a clear message) and again by the resolver at connect.
            return await self._check_name(host)
        reason = self._policy(host.strip("[]"))
        return None if reason is None else f"blocked address: {reason}"

    async def _check_name(self, host: str) -> str | None:
        assert self._dns is not None
        try:
            infos = await self._dns.resolve(host, 0, socket.AF_UNSPEC)
        except OSError as e:
            return f"cannot resolve {host}: {_one_line(e)}"
        for info in infos:
            reason = self._policy(info["host"])
            if reason is not None:
                return f"blocked address: {resolves_to(host, info['host'], reason)}"
        return None

    async def _read(
        self,
        url: str,
        final_url: str,
        permanent: str | None,
        resp: aiohttp.ClientResponse,
    ) -> FetchResult:
        headers = {k.lower(): v for k, v in resp.headers.items()}
        base: dict[str, Any] = {
            "url": url,
            "status": resp.status,
            "headers": headers,
            "final_url": final_url,
            "permanent_redirect_to": permanent,
        }
        if resp.status == 304:
            return FetchResult(**base, not_modified=True)
        if resp.status != 200:
            reason = resp.reason or ""
            return FetchResult(**base, error=f"HTTP {resp.status} {reason}".strip())
        declared = resp.content_length
        encoded = headers.get("content-encoding", "identity").lower() not in ("", "identity")
        if declared is not None and not encoded and declared > self.max_body_bytes:
            return FetchResult(**base, error=self._too_big())
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > self.max_body_bytes:
                return FetchResult(**base, error=self._too_big())
            chunks.append(chunk)
        return FetchResult(**base, body=b"".join(chunks))

    def _too_big(self) -> str:
        return f"body larger than {self.max_body_bytes // 1024} KiB (decompressed); not read"


def _connect_problem(e: aiohttp.ClientConnectorError) -> str:
    """A connection failure in words, without aiohttp's "ssl:default [...]" internals."""
    where = e.host if e.port in (80, 443) else f"{e.host}:{e.port}"
    if isinstance(e, aiohttp.ClientConnectorCertificateError):
        return f"cannot connect to {where}: its TLS certificate is not valid"
    if isinstance(e, aiohttp.ClientConnectorDNSError) or isinstance(e.os_error, socket.gaierror):
        return f"cannot connect to {where}: no such host name (DNS lookup failed)"
    if isinstance(e, aiohttp.ClientSSLError):
        return f"cannot connect to {where}: the secure (TLS) connection failed"
    if isinstance(e.os_error, ConnectionRefusedError):
        return f"cannot connect to {where}: the connection was refused"
    reason = e.os_error.strerror if e.os_error.strerror else type(e.os_error).__name__
    return f"cannot connect to {where}: {reason}"


def _one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())[:300]
