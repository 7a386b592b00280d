"""Feeds: sync, due feeds and the ``FeedState`` round trip (``storage/sql/feeds.py``). Each test
runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
import types
import typing
from datetime import UTC, datetime
from typing import Any

import pytest

from core.models import FeedConfig, FeedState
from storage import SqlStorage
from storage.schema import feeds
from storage.sql.feeds import feed_state_columns
from tests.support.storage_helpers import at


# feeds ----------------------------------------------------------------------------------
async def test_sync_feeds_and_state_round_trip(store: SqlStorage) -> None:
    await store.sync_feeds(
        [
            FeedConfig("http://127.0.0.1/a.xml", name="A", tags=("vn",)),
            FeedConfig("http://127.0.0.1/b.xml"),
        ],
        at(0),
    )
    assert [f.url for f in await store.due_feeds(at(0))] == [
        "http://127.0.0.1/a.xml",
        "http://127.0.0.1/b.xml",
    ]
    state = await store.get_feed("http://127.0.0.1/a.xml")
    assert state is not None
    assert state.tags == ("vn",)
    assert state.name == "A"
    polled = FeedState(
        url="http://127.0.0.1/a.xml",
        name="A",
        tags=("vn",),
        etag='"abc"',
        last_modified="Fri, 11 Jul 2025 12:00:00 GMT",
        next_check_at=at(15),
        last_checked_at=at(0),
        last_success_at=at(0),
        consecutive_errors=0,
        items_seen=12,
        first_poll_done=True,
        redirected_to="http://127.0.0.1/moved.xml",
        failing_since=at(-1),
    )
    await store.save_feed_state(polled)
    assert await store.get_feed("http://127.0.0.1/a.xml") == polled
    assert [f.url for f in await store.due_feeds(at(1))] == ["http://127.0.0.1/b.xml"]
    # Re-sync: config changes apply, validators stay, feeds gone from config go.
    await store.sync_feeds([FeedConfig("http://127.0.0.1/a.xml", name="A2")], at(2))
    (kept,) = await store.list_feeds()
    assert (kept.name, kept.etag, kept.items_seen, kept.tags) == ("A2", '"abc"', 12, ())
    await store.save_feed_state(FeedState(url="http://127.0.0.1/a.xml", disabled_reason="410 Gone"))
    assert await store.due_feeds(at(100)) == []


def _sample(name: str, hint: Any, default: Any, n: int) -> Any:
    """A value for FeedState field ``name`` that differs from its default and from every other
    field's, chosen from the field's type, so that a field added later needs no edit here."""
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
    base = [a for a in typing.get_args(hint) if a is not type(None)] if optional else [hint]
    if len(base) == 1 and base[0] is bool:
        return not default
    if len(base) == 1 and base[0] is int:
        return 100 + n
    if len(base) == 1 and base[0] is float:
        return 0.5 + n
    if len(base) == 1 and base[0] is str:
        return f"{name} {n}"
    if len(base) == 1 and base[0] is datetime:
        return at(n)
    if typing.get_origin(base[0]) is tuple and typing.get_args(base[0]) == (str, ...):
        return (f"{name}-{n}", f"{name}-{n + 1}")
    pytest.fail(f"no sample value for FeedState.{name}: {hint}; teach _sample this type")


async def test_every_feed_state_field_round_trips(store: SqlStorage) -> None:
    hints = typing.get_type_hints(FeedState)
    values = {
        f.name: _sample(f.name, hints[f.name], f.default, n)
        for n, f in enumerate(dataclasses.fields(FeedState))
        if f.name != "url"
    }
    state = FeedState(url="http://127.0.0.1/round-trip.xml", **values)
    assert all(v != getattr(FeedState(url=state.url), k) for k, v in values.items())
    await store.save_feed_state(state)
    got = await store.get_feed(state.url)
    assert got is not None
    assert dataclasses.asdict(got) == dataclasses.asdict(state)
    # The update path (the row exists now) writes every field too.
    changed = dataclasses.replace(
        state, **{k: _sample(k, hints[k], v, n + 50) for n, (k, v) in enumerate(values.items())}
    )
    await store.save_feed_state(changed)
    assert await store.list_feeds() == [changed]


def test_a_feed_state_field_without_a_column_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Grown(FeedState):
        not_in_the_table: str | None = None

    with pytest.raises(TypeError, match="not_in_the_table"):
        feed_state_columns(Grown, feeds)
    assert "redirected_to" in feed_state_columns(FeedState, feeds)


async def test_each_due_feed_is_claimed_by_one_process_until_its_lease_runs_out(
    database_url: str,
) -> None:
    """Two replicas' storages claim the same due feeds at once: every feed goes to exactly one;
    a saved state releases the claim; a dead replica's claim is taken over after its lease."""
    first, second = SqlStorage(database_url), SqlStorage(database_url)
    await first.open()
    await second.open()
    try:
        urls = [f"http://127.0.0.1/{i}.xml" for i in range(20)]
        await first.sync_feeds([FeedConfig(u) for u in urls], at(0))
        a, b = await asyncio.gather(
            first.claim_feeds(urls, at(1), lease_s=3600), second.claim_feeds(urls, at(1), 3600)
        )
        got_a, got_b = {s.url for s in a}, {s.url for s in b}
        assert not got_a & got_b
        assert got_a | got_b == set(urls)
        # (``at`` counts minutes: the leases hold until minute 61)
        # claimed feeds are not due for anybody while the lease holds
        assert await second.due_feeds(at(2), limit=100) == []
        assert await second.claim_feeds(urls, at(2), 3600) == []
        # one replica finishes a poll: the claim is released with the new state
        done = next(iter(a or b))
        owner = first if a else second
        await owner.save_feed_state(dataclasses.replace(done, next_check_at=at(10)))
        other = second if owner is first else first
        assert [s.url for s in await other.claim_feeds([done.url], at(11), 3600)] == [done.url]
        # the replica holding the rest dies: after its lease they are the other one's
        dead_urls = sorted((got_a if owner is first else got_b) - {done.url})
        assert await other.claim_feeds(dead_urls, at(30), 3600) == []
        taken = await other.claim_feeds(dead_urls, at(62), 3600)
        assert sorted(s.url for s in taken) == dead_urls
        # a late save by the dead replica's poll does not overwrite the live claim
        stale = next(s for s in (a or b) if s.url == dead_urls[0])
        await owner.save_feed_state(
            dataclasses.replace(stale, last_error="late", last_checked_at=at(1))
        )
        state = await other.get_feed(dead_urls[0])
        assert state is not None
        assert state.last_error is None
        # nor, once the taker has saved its newer poll (the claim released), the newer state
        newer = next(s for s in taken if s.url == dead_urls[0])
        await other.save_feed_state(
            dataclasses.replace(newer, last_checked_at=at(62), next_check_at=at(72))
        )
        await owner.save_feed_state(
            dataclasses.replace(
                stale, last_error="late", last_checked_at=at(1), next_check_at=at(2)
            )
        )
        state = await other.get_feed(dead_urls[0])
        assert state is not None
        assert (state.last_error, state.next_check_at) == (None, at(72))
        # a poll newer than the one saved still writes over it (no claim needed)
        await owner.save_feed_state(
            dataclasses.replace(stale, last_checked_at=at(80), next_check_at=at(90))
        )
        state = await other.get_feed(dead_urls[0])
        assert state is not None
        assert state.next_check_at == at(90)
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_replicas_syncing_the_same_feeds_at_once_all_succeed(postgres_url: str) -> None:
    """``--scale bot=3`` starts replicas together: each syncs the same new feeds file."""
    configured = [FeedConfig(url=f"https://example.org/{i}.xml") for i in range(300)]
    stores = [SqlStorage(postgres_url) for _ in range(3)]
    for store in stores:
        await store.open()
    try:
        now = datetime.now(UTC)
        await asyncio.gather(*(store.sync_feeds(configured, now) for store in stores))
        assert len(await stores[0].list_feeds()) == 300
    finally:
        for store in stores:
            await store.close()
