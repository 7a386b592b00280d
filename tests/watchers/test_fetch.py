"""FeedFetcher against a real local server: encodings, size caps, timeouts, redirects, guard."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from collections.abc import AsyncIterator

import brotli
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from tests.fakes.feed_server import FeedServer
from watchers.fetch import FeedFetcher, blocked_reason, resolves_to

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>" * 50


def loopback_one_only(address: str) -> str | None:
    """A policy for tests: 127.0.0.1 (our server) is allowed, the rest of 127/8 is not."""
    return None if address == "127.0.0.1" else blocked_reason(address)


class FakeDNS(AbstractResolver):
    """A resolver answering from a dict, so tests never leave 127.0.0.0/8."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"unknown host {host}")
        ip = self.table[host]
        return [
            ResolveResult(
                hostname=host, host=ip, port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def strict_fetcher() -> AsyncIterator[FeedFetcher]:
    dns = FakeDNS({"feeds.test": "127.0.0.1", "inside.test": "127.0.0.2"})
    async with FeedFetcher(
        allow_private=False, address_policy=loopback_one_only, resolver=dns, total_timeout_s=5
    ) as f:
        yield f


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("br", brotli.compress),
    ],
)
async def test_compressed_bodies_are_decoded(
    server: FeedServer, fetcher: FeedFetcher, encoding: str, compress: object
) -> None:
    assert callable(compress)

    async def handler(request: web.Request) -> web.Response:
        assert encoding in request.headers["Accept-Encoding"]
        return web.Response(body=compress(BODY), headers={"Content-Encoding": encoding})

    result = await fetcher.fetch(server.route("/c.xml", handler))
    assert result.error is None
    assert result.body == BODY


async def test_decompressed_size_is_capped_while_streaming(
    server: FeedServer, fetcher: FeedFetcher
) -> None:
    # 64 MiB of zeros gzip to ~64 KiB: the cap (1 MiB in the fixture) counts decoded bytes.
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    result = await fetcher.fetch(server.route("/bomb.xml", handler))
    assert result.body is None
    assert result.error == "body larger than 1024 KiB (decompressed); not read"


async def test_huge_plain_body_is_refused(server: FeedServer, fetcher: FeedFetcher) -> None:
    url = server.static("/huge.xml", b"x" * (2 * 1024 * 1024))
    result = await fetcher.fetch(url)
    assert result.body is None
    assert result.error is not None
    assert result.error.startswith("body larger than")


async def test_huge_streamed_body_without_length_is_cut(
    server: FeedServer, fetcher: FeedFetcher
) -> None:
    sent = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            for _ in range(400):  # up to 25 MiB, far beyond the cap
                await resp.write(b"y" * 65536)
                sent += 65536
        except ConnectionError:
            pass
        return resp

    result = await fetcher.fetch(server.route("/stream.xml", handler))
    assert result.error is not None
    assert "larger than" in result.error
    assert sent < 25 * 1024 * 1024


async def test_slow_response_times_out(server: FeedServer) -> None:
    release = asyncio.Event()

    async def handler(_: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), timeout=10)
        return web.Response(body=BODY)

    async with FeedFetcher(allow_private=True, read_timeout_s=0.3, total_timeout_s=5) as f:
        result = await f.fetch(server.route("/slow.xml", handler))
    release.set()
    assert result.status == 0
    assert result.error == "timed out"


async def test_temporary_redirect_is_followed_but_not_recorded(
    server: FeedServer, fetcher: FeedFetcher
) -> None:
    target = server.static("/target.xml", BODY)

    async def found(_: web.Request) -> web.Response:
        raise web.HTTPFound(location="/target.xml")

    async def permanent(_: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(location="/tmp.xml")

    server.route("/tmp.xml", found)
    result = await fetcher.fetch(server.route("/perm.xml", permanent))
    assert result.body == BODY
    assert result.final_url == target
    # 308 then 302: the chain is not permanent as a whole, so the feed URL stays.
    assert result.permanent_redirect_to == server.url("/tmp.xml")


async def test_302_only_chain_records_nothing(server: FeedServer, fetcher: FeedFetcher) -> None:
    server.static("/t2.xml", BODY)

    async def found(_: web.Request) -> web.Response:
        raise web.HTTPFound(location="/t2.xml")

    result = await fetcher.fetch(server.route("/f.xml", found))
    assert result.body == BODY
    assert result.permanent_redirect_to is None


async def test_redirect_loop_is_reported(server: FeedServer, fetcher: FeedFetcher) -> None:
    async def a(_: web.Request) -> web.Response:
        raise web.HTTPFound(location="/b")

    async def b(_: web.Request) -> web.Response:
        raise web.HTTPFound(location="/a")

    server.route("/b", b)
    result = await fetcher.fetch(server.route("/a", a))
    assert result.error == f"redirect loop at {server.url('/a')}"
    assert server.hits["/a"] == 1


async def test_too_many_redirects(server: FeedServer, fetcher: FeedFetcher) -> None:
    async def hop(request: web.Request) -> web.Response:
        n = int(request.match_info["tail"].split("/")[-1])
        raise web.HTTPFound(location=f"/r/{n + 1}")

    for i in range(10):
        server.route(f"/r/{i}", hop)
    result = await fetcher.fetch(server.url("/r/0"))
    assert result.error == "more than 5 redirects"


async def test_private_addresses_are_refused_unless_allowed(server: FeedServer) -> None:
    url = server.static("/feed.xml", BODY)
    async with FeedFetcher() as strict:
        result = await strict.fetch(url)
    assert result.error == "blocked address: 127.0.0.1 is a loopback address"
    assert server.hits["/feed.xml"] == 0


async def test_one_call_can_tighten_a_permissive_fetcher(
    server: FeedServer, fetcher: FeedFetcher
) -> None:
    url = server.static("/feed.xml", BODY)
    result = await fetcher.fetch(url, allow_private=False)
    assert result.error == "blocked address: 127.0.0.1 is a loopback address"
    assert (await fetcher.fetch(url)).body == BODY


async def test_redirect_to_a_blocked_address_is_refused(
    server: FeedServer, strict_fetcher: FeedFetcher
) -> None:
    async def to_inside(_: web.Request) -> web.Response:
        raise web.HTTPFound(location=f"http://127.0.0.2:{server.port}/secret")

    async def to_inside_name(_: web.Request) -> web.Response:
        raise web.HTTPFound(location=f"http://inside.test:{server.port}/secret")

    server.static("/secret", b"internal")
    server.route("/hop", to_inside)
    server.route("/hop-name", to_inside_name)
    first = await strict_fetcher.fetch(server.url("/hop"))
    assert first.error == "blocked address: 127.0.0.2 is a loopback address"
    second = await strict_fetcher.fetch(f"http://feeds.test:{server.port}/hop-name")
    assert (
        second.error
        == "blocked address: inside.test resolves to 127.0.0.2, which is a loopback address"
    )
    assert server.hits["/secret"] == 0
    assert server.hits["/hop-name"] == 1  # the allowed name did connect


def test_blocked_reason_covers_the_dangerous_ranges() -> None:
    assert blocked_reason("10.1.2.3") == "10.1.2.3 is a private address"
    assert blocked_reason("192.168.0.1") == "192.168.0.1 is a private address"
    assert blocked_reason("169.254.169.254") == (
        "169.254.169.254 is a link-local or cloud metadata address"
    )
    assert blocked_reason("::1") == "::1 is a loopback address"
    assert blocked_reason("::ffff:127.0.0.1") == "127.0.0.1 is a loopback address"
    assert (
        blocked_reason("fd00:ec2::254") == "fd00:ec2::254 is a link-local or cloud metadata address"
    )
    assert blocked_reason("fe80::1") == "fe80::1 is a link-local address"
    assert blocked_reason("100.64.0.1") == "100.64.0.1 is a carrier-grade NAT address"
    assert blocked_reason("0.0.0.0") is not None
    assert blocked_reason("93.184.216.34") is None
    assert blocked_reason("2606:4700::1111") is None


async def test_unsupported_scheme(fetcher: FeedFetcher) -> None:
    result = await fetcher.fetch("file:///etc/passwd")
    assert result.error == "unsupported URL scheme 'file' (only http and https)"


async def test_connection_refused_is_a_result(fetcher: FeedFetcher) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert result.status == 0
    assert result.error is not None
    assert result.error == f"cannot connect to 127.0.0.1:{port}: the connection was refused"


class NoSuchHostDNS(FakeDNS):
    """Fails as the system resolver does for a name that does not exist."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


async def test_an_unknown_host_name_is_said_without_library_internals() -> None:
    # Issue #16: "Cannot connect to host nope.invalid:443 ssl:default [Name or service ...]"
    async with FeedFetcher(allow_private=True, resolver=NoSuchHostDNS({}), total_timeout_s=5) as f:
        result = await f.fetch("https://no-such-host.invalid/feed.xml")
    assert result.error == (
        "cannot connect to no-such-host.invalid: no such host name (DNS lookup failed)"
    )


def test_a_refused_name_is_one_sentence() -> None:
    assert resolves_to("localhost", "127.0.0.1", "127.0.0.1 is a loopback address") == (
        "localhost resolves to 127.0.0.1, which is a loopback address"
    )
    assert resolves_to("x.test", "::ffff:10.0.0.1", "10.0.0.1 is a private address") == (
        "x.test resolves to 10.0.0.1, which is a private address"
    )
    assert resolves_to("x.test", "10.0.0.1", "blocked") == "x.test resolves to 10.0.0.1: blocked"


class RebindingDNS(FakeDNS):
    """Answers 127.0.0.1 first, then 127.0.0.2: a DNS-rebinding attacker in miniature."""

    def __init__(self) -> None:
        super().__init__({})
        self.calls = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls += 1
        self.table[host] = "127.0.0.1" if self.calls == 1 else "127.0.0.2"
        return await super().resolve(host, port, family)


async def test_the_address_is_checked_again_at_connect_time(server: FeedServer) -> None:
    server.static("/feed.xml", BODY)
    dns = RebindingDNS()
    async with FeedFetcher(address_policy=loopback_one_only, resolver=dns) as f:
        result = await f.fetch(f"http://rebind.test:{server.port}/feed.xml")
    assert dns.calls == 2  # once for the early check, once by the connector
    assert result.error == (
        "blocked address: rebind.test resolves to 127.0.0.2, which is a loopback address"
    )
    assert server.hits["/feed.xml"] == 0


async def test_fetcher_from_poll_settings_applies_cap_and_policy(server: FeedServer) -> None:
    from watchers.schedule import PollSettings

    url = server.static("/big.xml", b"z" * 5000)
    settings = PollSettings(max_body_bytes=4096, allow_private=True)
    async with FeedFetcher.from_poll_settings(settings, user_agent="ua/1") as f:
        result = await f.fetch(url)
    assert result.error == "body larger than 4 KiB (decompressed); not read"
    assert server.seen[-1].headers["User-Agent"] == "ua/1"
