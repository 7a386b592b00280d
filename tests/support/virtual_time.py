"""Virtual time for pacing tests: sleeps resolve in time order, instantly, deterministically."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from typing import Any


class VirtualTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._seq), future))
        await future

    async def run(self, *coros: Coroutine[Any, Any, Any], max_steps: int = 1_000_000) -> list[Any]:
        tasks = [asyncio.create_task(c) for c in coros]
        for _ in range(max_steps):
            for _ in range(3):
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                return [t.result() for t in tasks]
            if self._sleepers:
                at, _, future = heapq.heappop(self._sleepers)
                if not future.done():  # a cancelled sleep (the pacer raced it) is skipped
                    self.now = max(self.now, at)
                    future.set_result(None)
        raise AssertionError("virtual time did not settle")
