"""Trend opt-ins and trend alerts in storage, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from core.models import DeliveryKind, RenderedMessage
from storage import SqlStorage
from tests.support.storage_helpers import T0, at, subscribed

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # every byte value survives the round trip
CAPTION = RenderedMessage("📈 <b>CSP</b>: a spike", "📈 CSP: a spike", False)


async def test_opt_in_and_out(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    assert await store.set_trend_watch(1, "csp", True, T0, thread_id=7)
    assert not await store.set_trend_watch(1, "csp", True, T0)  # already on
    [watch] = await store.trend_watches(1)
    assert (watch.chat_id, watch.rule_id, watch.thread_id, watch.last_spike_at) == (
        1,
        "csp",
        7,
        None,
    )
    assert await store.set_trend_watch(1, "csp", False, T0)
    assert not await store.set_trend_watch(1, "csp", False, T0)
    assert await store.trend_watches() == []


async def test_only_active_unmuted_subscribers_are_alerted(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await subscribed(store, 2, "csp")
    await subscribed(store, 3, "csp")
    await subscribed(store, 4, "sea")  # opted in to csp without a subscription to it
    for chat in (1, 2, 3, 4):
        await store.set_trend_watch(chat, "csp", True, T0)
    await store.mute_chat(2, at(60))
    await store.set_chat_active(3, False)
    assert [w.chat_id for w in await store.spike_watchers("csp", T0)] == [1]
    assert [w.chat_id for w in await store.spike_watchers("csp", at(61))] == [1, 2]


async def test_one_alert_per_spike_carrying_caption_and_chart(store: SqlStorage) -> None:
    await subscribed(store, 1, "csp")
    await store.set_trend_watch(1, "csp", True, T0, thread_id=None)
    watches = await store.spike_watchers("csp", T0)
    spike = T0.replace(minute=0)
    assert await store.queue_trend(watches, spike, CAPTION, PNG, T0) == 1
    assert await store.queue_trend(watches, spike, CAPTION, PNG, T0) == 0  # the same spike
    [due] = await store.due_deliveries(T0 + timedelta(seconds=1))
    assert due.kind is DeliveryKind.TREND
    assert due.article is None
    assert due.pages == (CAPTION,)
    assert due.image == PNG
    assert [m.rule_id for m in due.matches] == ["csp"]
    [watch] = await store.trend_watches(1)
    assert watch.last_spike_at == spike
    later = spike + timedelta(hours=5)
    assert await store.queue_trend(watches, later, CAPTION, PNG, T0) == 1  # a new spike
