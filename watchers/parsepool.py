"""Where feed parsing runs: in worker processes, so the event loop never waits for it.

feedparser is pure-Python CPU work. In a thread it shares the GIL with the event loop, and the
benchmark measured the loop's 10 ms timer firing 150-300 ms late while changed feeds parsed;
in one worker process the same cycle stayed near 25 ms. A worker process also contains the
damage of a pathological feed: if it dies, the pool is rebuilt and only that poll fails.

``ParsePool`` does not fetch or decide anything; it only runs ``parse_feed`` elsewhere.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from core.errors import FeedError
from watchers.parse import ParsedFeed, parse_feed

log = logging.getLogger(__name__)


class ParsePool:
    """Runs ``parse_feed`` in ``processes`` worker processes (0: in one background thread).

    Processes are started with the ``spawn`` method (never ``fork``: the parent has threads)
    on first use. Create one per application and ``close()`` it at shutdown.
    """

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._executor: Executor | None = None
        self._lock = threading.Lock()

    def _get(self) -> Executor:
        with self._lock:
            if self._executor is None:
                if self.processes > 0:
                    self._executor = ProcessPoolExecutor(
                        max_workers=self.processes,
                        mp_context=multiprocessing.get_context("spawn"),
                    )
                else:
                    self._executor = ThreadPoolExecutor(
                        max_workers=1, thread_name_prefix="feed-parse"
                    )
            return self._executor

    def _reset(self, broken: Executor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    async def parse(
        self,
        body: bytes,
        url: str,
        content_type: str | None,
        feed_name: str | None,
        base_url: str | None = None,
    ) -> ParsedFeed:
        """``parse_feed`` off the loop. Raises ``FeedError`` like ``parse_feed`` does, and when
        the worker died on this document (the pool is rebuilt for the next call)."""
        call = functools.partial(parse_feed, body, url, content_type, feed_name, base_url=base_url)
        executor = self._get()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except BrokenProcessPool as e:
            log.warning("feed parser process died url=%s; restarting the pool", url)
            self._reset(executor)
            raise FeedError("the feed parser process died on this document") from e

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for measurements); empty in thread mode."""
        executor = self._executor
        if isinstance(executor, ProcessPoolExecutor):
            procs = getattr(executor, "_processes", None) or {}
            return [int(pid) for pid in procs]
        return []


_default: ParsePool | None = None
_default_lock = threading.Lock()


def default_parse_pool() -> ParsePool:
    """The process-wide pool ``poll_feed`` uses when given none: one worker process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ParsePool(processes=1)
        return _default


def close_default_parse_pool() -> None:
    """Stop the default pool's worker (call at shutdown; safe when it never started)."""
    global _default
    with _default_lock:
        pool, _default = _default, None
    if pool is not None:
        pool.close()
