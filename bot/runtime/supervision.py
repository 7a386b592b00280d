"""Background loops that come back after a crash.

``supervised(start, name, ...)`` runs ``start()`` and, when it raises (anything but a
cancellation), reports the crash and starts it again after a growing pause (1 s, 2 s, 4 s … at
most ``max_pause_s``; back to 1 s after a run that lasted ``settled_s``). A loop that returns
normally is finished and not restarted. Cancellation stops it at once, in a run or a pause.
Does not decide what to run or log; the App passes its loops and its crash counter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

MAX_PAUSE_S = 60.0
SETTLED_S = 300.0


async def supervised(
    start: Callable[[], Awaitable[None]],
    name: str,
    *,
    on_crash: Callable[[str, float], None],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_pause_s: float = MAX_PAUSE_S,
    settled_s: float = SETTLED_S,
) -> None:
    """Run ``start()`` until it returns, restarting it after each crash. ``on_crash(name,
    pause_s)`` is called inside the ``except`` block (so it can log the traceback) before the
    pause."""
    pause = 1.0
    while True:
        began = clock()
        try:
            await start()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            if clock() - began >= settled_s:
                pause = 1.0
            on_crash(name, pause)
        await sleep(pause)
        pause = min(max_pause_s, pause * 2)
