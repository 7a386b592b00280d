"""One-time login links across replicas: signed with the key the database hands every replica,
used once through a compare-and-set in the database (real ``SqlStorage``, SQLite and
PostgreSQL), refused when forged, replayed, expired or signed with another key."""

from __future__ import annotations

from bot.web.auth import LoginLinks, SessionSigner, console_signing_key
from storage import SqlStorage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _replicas(store: SqlStorage, clock: Clock) -> tuple[LoginLinks, LoginLinks]:
    """Two replicas' links over one database: each asks for the key, as at start-up."""
    a, b = LoginLinks(now=clock), LoginLinks(now=clock)
    for links in (a, b):
        links.share(await console_signing_key(None, store), store)
    return a, b


async def test_a_link_issued_by_one_replica_logs_in_once_on_any(store: SqlStorage) -> None:
    clock = Clock()
    a, b = await _replicas(store, clock)
    token = a.issue(7, admin=True)
    assert await b.peek(token)  # the confirm page, on the other replica
    assert await b.redeem(token) == (7, True)
    assert not await a.peek(token)
    assert await a.redeem(token) is None  # replayed on the first replica
    assert await b.redeem(token) is None


async def test_forged_expired_and_foreign_links_are_refused(store: SqlStorage) -> None:
    clock = Clock()
    a, _ = await _replicas(store, clock)
    token = a.issue(7, admin=False)
    payload, _, mac = token.rpartition(".")
    assert await a.redeem(f"{payload}.{mac[:-2]}AA") is None  # forged signature
    assert await a.redeem("no-dot-at-all") is None
    elsewhere = LoginLinks(now=clock)  # another installation's key
    assert await a.redeem(elsewhere.issue(7, admin=True)) is None
    clock.now += 601  # past LINK_TTL_S
    assert not await a.peek(token)
    assert await a.redeem(token) is None


async def test_sessions_signed_by_one_replica_are_read_by_another(store: SqlStorage) -> None:
    first = SessionSigner(await console_signing_key(None, store))
    second = SessionSigner(await console_signing_key(None, store))
    session, cookie = first.new_session(7, admin=False)
    read = second.read(cookie)
    assert read is not None
    assert (read.user_id, read.admin, read.nonce) == (7, False, session.nonce)
    assert second.csrf_ok(session, first.csrf_token(session))
    # NEWSWATCH_WEB_SECRET, when set, wins over the database's key
    assert SessionSigner(await console_signing_key("s3cret", store)).read(cookie) is None


async def test_without_a_database_a_link_still_works_once() -> None:
    links = LoginLinks()
    token = links.issue(9, admin=False)
    assert await links.peek(token)
    assert await links.redeem(token) == (9, False)
    assert await links.redeem(token) is None
