"""SendPacer in virtual time: the global, per-chat and per-group windows, and holds."""

from __future__ import annotations

import itertools

from bot.delivery.pacing import PaceLimits, SendPacer
from tests.support.virtual_time import VirtualTime


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, first = 0, 0
    for last, t in enumerate(times):
        while times[first] + window <= t:
            first += 1
        best = max(best, last - first + 1)
    return best


class Sender:
    """Sends through the pacer; each request takes ``rtt`` seconds of virtual time."""

    def __init__(self, vt: VirtualTime, pacer: SendPacer, rtt: float = 0.02) -> None:
        self.vt, self.pacer, self.rtt = vt, pacer, rtt
        self.arrivals: list[float] = []  # when the "server" handled each request: mid-flight

    async def send(self, chat_id: int) -> None:
        async with self.pacer.slot(chat_id):
            await self.vt.sleep(self.rtt / 2)
            self.arrivals.append(self.vt.now)
            await self.vt.sleep(self.rtt / 2)


async def test_many_chats_go_out_near_30_per_second_never_over() -> None:
    vt = VirtualTime()
    sender = Sender(vt, SendPacer(clock=vt.clock, sleep=vt.sleep))
    queue = list(range(1, 601))

    async def worker() -> None:
        while queue:
            await sender.send(queue.pop())

    await vt.run(*(worker() for _ in range(30)))
    assert len(sender.arrivals) == 600
    assert max_in_window(sender.arrivals, 1.0) <= 30
    rate = (len(sender.arrivals) - 1) / (max(sender.arrivals) - min(sender.arrivals))
    assert rate >= 27


async def test_late_arrivals_never_overbook_the_servers_window() -> None:
    # Requests that reach the server at any point of their flight (here: jittery) are still
    # never more than 30 in any second on the server's clock.
    vt = VirtualTime()
    pacer = SendPacer(clock=vt.clock, sleep=vt.sleep)
    arrivals: list[float] = []
    delays = itertools.cycle([0.001, 0.3, 0.05, 0.2, 0.0, 0.12])

    async def send(chat_id: int) -> None:
        async with pacer.slot(chat_id):
            await vt.sleep(next(delays))
            arrivals.append(vt.now)
            await vt.sleep(0.01)

    queue = list(range(1, 301))

    async def worker() -> None:
        while queue:
            await send(queue.pop())

    await vt.run(*(worker() for _ in range(40)))
    assert max_in_window(arrivals, 1.0) <= 30


async def test_one_private_chat_gets_one_message_per_second() -> None:
    vt = VirtualTime()
    sender = Sender(vt, SendPacer(clock=vt.clock, sleep=vt.sleep), rtt=0.1)
    await vt.run(*(sender.send(42) for _ in range(5)))
    gaps = [b - a for a, b in itertools.pairwise(sender.arrivals)]
    assert all(g >= 1.0 for g in gaps)
    assert all(g <= 1.1 + 1e-9 for g in gaps)  # one second after the response, no more


async def test_a_group_gets_twenty_per_minute() -> None:
    vt = VirtualTime()
    sender = Sender(vt, SendPacer(clock=vt.clock, sleep=vt.sleep))

    async def send(n: int) -> None:
        for _ in range(n):
            await sender.send(-100)

    await vt.run(send(25))
    assert max_in_window(sender.arrivals, 60.0) <= 20
    assert sender.arrivals[20] - sender.arrivals[0] >= 60.0
    assert sender.arrivals[19] - sender.arrivals[0] < 1.0  # the first twenty need not wait


async def test_hold_after_429_delays_that_chat_only() -> None:
    vt = VirtualTime()
    pacer = SendPacer(PaceLimits(), clock=vt.clock, sleep=vt.sleep)
    pacer.hold(7, 12.0)
    times: dict[int, float] = {}

    async def send(chat: int) -> None:
        async with pacer.slot(chat):
            times[chat] = vt.now

    await vt.run(send(7), send(8))
    assert times[7] >= 12.0
    assert times[8] < 1.0
    pacer.hold(None, 5.0)
    start = vt.now
    await vt.run(send(9))
    assert times[9] - start >= 5.0
