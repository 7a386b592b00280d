"""Send pacing for Telegram: stay under the global, per-chat and per-group rates before sending.

Telegram allows about 30 messages per second per bot, one per second in a private chat and
20 per minute in a group, and answers 429 with ``retry_after`` above that. ``SendPacer.acquire``
waits until a send to a chat fits every limit, then records it, so the outbox never provokes a
429 from our own rate. Sliding windows on the times sends actually left (not on a schedule), so a
stalled event loop cannot turn into a burst afterwards. Limits carry small safety margins for
latency jitter between here and the server.

Does not send anything, retry anything or know about storage; time and sleep are injected.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import monotonic


@dataclass(frozen=True, slots=True)
class PaceLimits:
    """How fast to send. Defaults: Telegram's documented limits minus a safety margin."""

    global_count: int = 29  # per global_window_s (Telegram: 30 per second)
    global_window_s: float = 1.0
    min_spacing_s: float = 1.0 / 30  # smooths bursts inside the global window
    private_window_s: float = 1.1  # one message per window (Telegram: one per second)
    group_count: int = 20  # per group_window_s (Telegram: 20 per minute)
    group_window_s: float = 61.0


class _Window:
    """At most ``count`` events in any ``window_s`` seconds."""

    __slots__ = ("count", "times", "window_s")

    def __init__(self, count: int, window_s: float) -> None:
        self.count = count
        self.window_s = window_s
        self.times: deque[float] = deque()

    def earliest(self, now: float) -> float:
        while self.times and self.times[0] + self.window_s <= now:
            self.times.popleft()
        if len(self.times) < self.count:
            return now
        return self.times[-self.count] + self.window_s

    def record(self, now: float) -> None:
        self.times.append(now)

    def idle(self, now: float) -> bool:
        return not self.times or self.times[-1] + self.window_s <= now


class SendPacer:
    """Waits until a message to ``chat_id`` may leave. Negative ids are groups and channels."""

    def __init__(
        self,
        limits: PaceLimits | None = None,
        *,
        clock: Callable[[], float] = monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or PaceLimits()
        self._clock = clock
        self._sleep = sleep
        self._global = _Window(self.limits.global_count, self.limits.global_window_s)
        self._last_send = float("-inf")
        self._chats: dict[int, _Window] = {}
        self._held_until: dict[int, float] = {}
        self._global_held_until = float("-inf")

    def _chat_window(self, chat_id: int) -> _Window:
        window = self._chats.get(chat_id)
        if window is None:
            if chat_id < 0:
                window = _Window(self.limits.group_count, self.limits.group_window_s)
            else:
                window = _Window(1, self.limits.private_window_s)
            self._chats[chat_id] = window
        return window

    def earliest(self, chat_id: int) -> float:
        """The first time (on the pacer's clock) a message to ``chat_id`` could leave."""
        now = self._clock()
        return max(
            now,
            self._global.earliest(now),
            self._last_send + self.limits.min_spacing_s,
            self._chat_window(chat_id).earliest(now),
            self._held_until.get(chat_id, now),
            self._global_held_until,
        )

    async def acquire(self, chat_id: int) -> float:
        """Wait until a message to ``chat_id`` fits every limit and count it as sent.

        Returns the seconds waited. Between the last check and the record there is no await,
        so concurrent callers on one event loop can never overbook a window.
        """
        start = self._clock()
        while True:
            at = self.earliest(chat_id)
            now = self._clock()
            if at <= now:
                self._global.record(now)
                self._chat_window(chat_id).record(now)
                self._last_send = now
                self._held_until.pop(chat_id, None)
                self._forget_idle(now)
                return now - start
            await self._sleep(at - now)

    def hold(self, chat_id: int | None, seconds: float) -> None:
        """After a 429: send nothing to ``chat_id`` (or at all, for None) for ``seconds``."""
        until = self._clock() + seconds
        if chat_id is None:
            self._global_held_until = max(self._global_held_until, until)
        else:
            self._held_until[chat_id] = max(self._held_until.get(chat_id, until), until)

    def _forget_idle(self, now: float) -> None:
        # Bounded memory with many chats: drop windows that no longer constrain anything.
        if len(self._chats) > 5000:
            for chat_id in [c for c, w in self._chats.items() if w.idle(now)]:
                del self._chats[chat_id]
