"""The progress watchdog behind ``/healthz`` and ``/readyz``: is polling, is sending, moving?

Each watched activity (``polling``, ``sending``) reports two things: ``progress(name)`` when it
finished a unit of work (a poll stored, a send recorded, whatever the outcome), and
``idle(name)`` when it looked and found nothing due. An activity is **stalled** when neither
happened for ``stall_after_s`` seconds: work was due (or it would have said idle) and none got
done. That is what "the bot is stuck" means to an operator; "the scheduler object exists" is
not. One slow or hanging feed does not stall polling while other polls complete, and every
stage of a poll has its own time limit, so a stuck poll ends (as an error) well before
``stall_after_s``.

Knows nothing of feeds, Telegram or HTTP; the clock is injected. ``check(name)`` is a readiness
check for ``bot.ops.http_health``; ``evaluate()`` logs each change between healthy and stalled
once, with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.ops.http_health import ReadinessCheck

log = logging.getLogger(__name__)


class ProgressWatchdog:
    """Last progress per activity, and whether any has stalled."""

    def __init__(self, stall_after_s: float, *, clock: Callable[[], float] = time.monotonic):
        self.stall_after_s = stall_after_s
        self._clock = clock
        self._last_ok: dict[str, float] = {}
        self._stalled: set[str] = set()

    def watch(self, name: str) -> None:
        """Start watching ``name``; it counts as healthy from now."""
        self._last_ok.setdefault(name, self._clock())

    def progress(self, name: str) -> None:
        """``name`` finished a unit of work."""
        self._last_ok[name] = self._clock()

    def idle(self, name: str) -> None:
        """``name`` looked for work and found none due: healthy, nothing to do."""
        self._last_ok[name] = self._clock()

    def stall_reason(self, name: str) -> str | None:
        """Why ``name`` is stalled, or None while it is healthy (or not watched)."""
        last = self._last_ok.get(name)
        if last is None:
            return None
        quiet = self._clock() - last
        if quiet <= self.stall_after_s:
            return None
        return f"{name}: no progress for {quiet:.0f} s while work was due"

    def reasons(self) -> list[str]:
        """Every stalled activity's reason (empty: all healthy)."""
        return [r for name in sorted(self._last_ok) if (r := self.stall_reason(name))]

    def evaluate(self) -> list[str]:
        """``reasons()``, logging each activity's change between healthy and stalled once."""
        reasons = []
        for name in sorted(self._last_ok):
            reason = self.stall_reason(name)
            if reason is not None:
                reasons.append(reason)
                if name not in self._stalled:
                    self._stalled.add(name)
                    log.error("watchdog: %s", reason)
            elif name in self._stalled:
                self._stalled.discard(name)
                log.info("watchdog: %s is making progress again", name)
        return reasons

    def check(self) -> ReadinessCheck:
        """A health check that fails, naming the reason, while any activity is stalled."""

        async def check() -> str:
            reasons = self.evaluate()
            if reasons:
                raise RuntimeError("; ".join(reasons))
            return "ok (" + ", ".join(sorted(self._last_ok)) + " making progress)"

        return check
