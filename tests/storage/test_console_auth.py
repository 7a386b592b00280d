"""Console sign-in state shared by replicas (``storage/sql/console_auth.py``), on SQLite and
PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

from datetime import timedelta

from storage import SqlStorage
from tests.support.storage_helpers import at


async def test_the_first_key_made_is_the_one_everybody_gets(store: SqlStorage) -> None:
    first = await store.console_key("k", lambda: "made-first")
    assert first == "made-first"
    assert await store.console_key("k", lambda: "made-later") == "made-first"
    assert await store.console_key("other", lambda: "x") == "x"


async def test_a_link_is_used_once_and_forgotten_after_it_expires(store: SqlStorage) -> None:
    expires = at(10)
    assert not await store.login_link_used("n1")
    assert await store.use_login_link("n1", expires, at(0))
    assert await store.login_link_used("n1")
    assert not await store.use_login_link("n1", expires, at(1))  # a replay, on any replica
    # once expired, its record goes at the next use of any link (the link itself is refused
    # by its signed expiry before storage is asked)
    assert await store.use_login_link("n2", at(20), at(10) + timedelta(seconds=1))
    assert not await store.login_link_used("n1")
