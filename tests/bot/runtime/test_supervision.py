"""``supervised``: a crashed background loop comes back after a growing pause; a finished one
does not; cancelling stops it (an injected sleep and clock, no waiting)."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime.supervision import supervised


class Loop:
    """Crashes ``crashes`` times, then returns."""

    def __init__(self, crashes: int) -> None:
        self.crashes = crashes
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.crashes:
            raise RuntimeError(f"crash {self.runs}")


async def test_a_crashed_loop_is_restarted_with_growing_pauses_until_it_finishes() -> None:
    loop = Loop(crashes=5)
    pauses: list[float] = []
    crashed: list[tuple[str, float]] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    def on_crash(name: str, pause: float) -> None:
        crashed.append((name, pause))

    await supervised(loop, "poll", on_crash=on_crash, sleep=sleep, max_pause_s=8.0)
    assert loop.runs == 6
    assert pauses == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert crashed == [("poll", p) for p in pauses]


async def test_the_pause_starts_again_after_a_run_that_settled() -> None:
    pauses: list[float] = []
    now = [0.0]
    runs = [0]

    async def loop() -> None:
        runs[0] += 1
        if runs[0] == 3:
            now[0] += 1000.0  # the third run lasts long before it crashes
        if runs[0] <= 3:
            raise RuntimeError("crash")

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    await supervised(
        loop, "x", on_crash=lambda *_: None, sleep=sleep, clock=lambda: now[0], settled_s=10
    )
    assert pauses == [1.0, 2.0, 1.0]


async def test_cancelling_stops_it_in_a_pause() -> None:
    started = asyncio.Event()

    async def crash() -> None:
        started.set()
        raise RuntimeError("boom")

    task = asyncio.create_task(supervised(crash, "x", on_crash=lambda *_: None))
    await started.wait()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
