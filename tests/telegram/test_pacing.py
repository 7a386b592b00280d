"""SendPacer in virtual time: the global, per-chat and per-group windows, and holds."""

from __future__ import annotations

import itertools

from bot.pacing import PaceLimits, SendPacer
from tests.telegram.virtual_time import VirtualTime


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, first = 0, 0
    for last, t in enumerate(times):
        while times[first] + window <= t:
            first += 1
        best = max(best, last - first + 1)
    return best


async def test_many_chats_go_out_near_30_per_second_never_over() -> None:
    vt = VirtualTime()
    pacer = SendPacer(clock=vt.clock, sleep=vt.sleep)
    sent: list[float] = []

    async def send(chat_id: int) -> None:
        await pacer.acquire(chat_id)
        sent.append(vt.now)

    await vt.run(*(send(chat) for chat in range(1, 301)))
    assert len(sent) == 300
    assert max_in_window(sent, 1.0) <= 29
    rate = (len(sent) - 1) / (max(sent) - min(sent))
    assert rate >= 27


async def test_one_private_chat_gets_one_message_per_window() -> None:
    vt = VirtualTime()
    pacer = SendPacer(clock=vt.clock, sleep=vt.sleep)
    sent: list[float] = []

    async def send_five() -> None:
        for _ in range(5):
            await pacer.acquire(42)
            sent.append(vt.now)

    await vt.run(send_five())
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert all(abs(g - 1.1) < 1e-9 for g in gaps)


async def test_a_group_gets_twenty_per_minute() -> None:
    vt = VirtualTime()
    pacer = SendPacer(clock=vt.clock, sleep=vt.sleep)
    sent: list[float] = []

    async def send(n: int) -> None:
        for _ in range(n):
            await pacer.acquire(-100)
            sent.append(vt.now)

    await vt.run(send(25))
    assert max_in_window(sent, 60.0) <= 20
    assert sent[20] - sent[0] >= 61.0
    assert sent[19] - sent[0] < 1.0  # the first twenty need not wait for each other


async def test_hold_after_429_delays_that_chat_only() -> None:
    vt = VirtualTime()
    pacer = SendPacer(PaceLimits(), clock=vt.clock, sleep=vt.sleep)
    pacer.hold(7, 12.0)
    times: dict[int, float] = {}

    async def send(chat: int) -> None:
        await pacer.acquire(chat)
        times[chat] = vt.now

    await vt.run(send(7), send(8))
    assert times[7] >= 12.0
    assert times[8] < 1.0
    pacer.hold(None, 5.0)
    start = vt.now
    await vt.run(send(9))
    assert times[9] - start >= 5.0
