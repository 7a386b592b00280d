"""Where feed parsing runs: in worker processes, so the event loop never waits for it.

feedparser is pure-Python CPU work. In a thread it shares the GIL with the event loop, and the
benchmark measured the loop's 10 ms timer firing two to three times later than with a worker
process. A worker process also uses the second core and contains a pathological document: if it
dies, only that poll fails and a fresh worker starts for the next one.

Workers are plain ``python -m watchers.parse_worker`` processes speaking length-prefixed pickle
over their stdin/stdout. Unlike ``multiprocessing``'s spawn and forkserver methods they never
re-import the application's ``__main__`` (half a second and tens of MB per worker, and a
disaster for any entry point without a ``__main__`` guard), and they exit by themselves when
the bot dies, because their stdin closes. ``ParsePool`` does not fetch or decide anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.errors import FeedError
from watchers.parse import ParsedFeed, parse_feed
from watchers.parse_worker import read_frame, write_frame

log = logging.getLogger(__name__)

_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])


class _WorkerDiedError(Exception):
    pass


class _Call:
    """One call's hand-over between the event loop and the thread that serves it: which worker
    has the document (so the loop can kill it at the time limit) and when it got it (the limit
    counts from then, not from the wait for a free worker)."""

    __slots__ = ("lock", "started", "timed_out", "worker")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.worker: _Worker | None = None
        self.timed_out = False

    def mark_started(self) -> None:
        if not self.started.done():
            self.started.set_result(None)


class _Worker:
    """One worker process; used by one thread at a time."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT_ROOT, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watchers.parse_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, payload: bytes) -> tuple[str, object]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        try:
            write_frame(self.proc.stdin, payload)
            frame = read_frame(self.proc.stdout)
        except (OSError, ValueError) as e:
            raise _WorkerDiedError(str(e)) from e
        if frame is None:
            raise _WorkerDiedError(f"exit code {self.proc.poll()}")
        try:
            answer: tuple[str, object] = pickle.loads(frame)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
            raise _WorkerDiedError(f"unreadable answer: {e}") from e
        return answer

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class ParsePool:
    """Runs ``parse_feed`` in ``processes`` worker processes (0: in one background thread).

    Workers start on first use and are replaced when they die. ``timeout_s`` (None: no limit)
    bounds one document: a worker still busy after it (hung, stopped, looping) is killed, the
    call raises ``FeedError`` and a fresh worker serves the next call. In thread mode the call
    is abandoned at the limit (a thread cannot be killed) and its thread stays busy until the
    parse ends. Create one per application and ``close()`` it at shutdown (workers also exit
    on their own when the application dies).
    """

    def __init__(self, processes: int = 1, *, timeout_s: float | None = None) -> None:
        self.processes = processes
        self.timeout_s = timeout_s
        self._threads = ThreadPoolExecutor(
            max_workers=max(1, processes), thread_name_prefix="feed-parse"
        )
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    async def parse(
        self,
        body: bytes,
        url: str,
        content_type: str | None,
        feed_name: str | None,
        base_url: str | None = None,
    ) -> ParsedFeed:
        """``parse_feed`` off the loop. Raises ``FeedError`` like ``parse_feed`` does, and when
        the worker died on this document (a new worker serves the next call)."""
        if self._closed:
            raise FeedError("the feed parser pool is closed")
        loop = asyncio.get_running_loop()
        if self.processes <= 0:
            call = functools.partial(
                parse_feed, body, url, content_type, feed_name, base_url=base_url
            )
            thread_future = loop.run_in_executor(self._threads, call)
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await asyncio.shield(thread_future)
            except TimeoutError:
                raise FeedError(self._too_slow()) from None
        payload = pickle.dumps(
            (body, url, content_type, feed_name, base_url), protocol=pickle.HIGHEST_PROTOCOL
        )
        current = _Call()
        future = loop.run_in_executor(self._threads, self._call, payload, url, current, loop)
        # Waiting for a free worker is not this document's fault: the limit starts when a
        # worker has it.
        waits: set[asyncio.Future[Any]] = {future, current.started}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        try:
            async with asyncio.timeout(self.timeout_s):
                kind, value = await asyncio.shield(future)
        except TimeoutError:
            # Killing the worker ends the thread's blocking read at once (end of file); the
            # thread then discards it, and the next call starts a fresh one.
            with current.lock:
                current.timed_out = True
                if current.worker is not None:
                    with contextlib.suppress(OSError):
                        current.worker.proc.kill()
            log.warning("feed parser past its time limit url=%s; worker killed", url)
            raise FeedError(self._too_slow()) from None
        if kind == "ok" and isinstance(value, ParsedFeed):
            return value
        raise FeedError(str(value))

    def _too_slow(self) -> str:
        return f"parsing took longer than {self.timeout_s:g} s; the parser was stopped"

    def _call(
        self,
        payload: bytes,
        url: str,
        current: _Call | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> tuple[str, object]:
        worker = self._checkout()
        if current is not None:
            with current.lock:
                current.worker = worker
            if loop is not None:
                loop.call_soon_threadsafe(current.mark_started)
        try:
            answer = worker.call(payload)
        except _WorkerDiedError as e:
            if current is None or not current.timed_out:
                log.warning("feed parser process died url=%s (%s); a new one will start", url, e)
            self._discard(worker)
            return ("error", "the feed parser process died on this document")
        if current is not None:
            with current.lock:
                current.worker = None
                killed = current.timed_out
            if killed:  # the answer came just as the loop gave up and killed the worker
                self._discard(worker)
                return ("error", self._too_slow())
        self._idle.put(worker)
        return answer

    def _checkout(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        worker = _Worker()
        with self._lock:
            self._all.append(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        with contextlib.suppress(OSError):
            worker.proc.kill()
        worker.stop(timeout_s=1.0)

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for measurements and tests); empty in thread mode."""
        with self._lock:
            return [w.pid for w in self._all if w.proc.poll() is None]

    def close(self) -> None:
        """Stop the workers (each gets 2 s to finish its current document, then is killed).
        Idempotent."""
        self._closed = True
        with self._lock:
            workers, self._all = self._all, []
        # Workers first: a thread blocked on a hung worker returns once that worker is gone.
        for w in workers:
            w.stop(timeout_s=2.0)
        self._threads.shutdown(wait=True, cancel_futures=True)


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
