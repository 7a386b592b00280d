"""ParsePool: parsing in a worker process, and surviving the worker's death."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from core.errors import FeedError
from tests.support.seeds import Seed, rss2
from watchers.parsepool import ParsePool


@pytest.mark.parametrize("processes", [0, 1])
async def test_parses_off_the_loop(processes: int, seeds: list[Seed]) -> None:
    pool = ParsePool(processes=processes)
    try:
        parsed = await pool.parse(rss2(seeds).encode(), "https://x.example/f", None, "X")
    finally:
        pool.close()
    assert [a.title for a in parsed.items] == [s.title for s in seeds]
    assert parsed.items[0].feed_name == "X"


async def test_a_dead_worker_fails_one_parse_and_the_pool_recovers(seeds: list[Seed]) -> None:
    pool = ParsePool(processes=1)
    body = rss2(seeds).encode()
    try:
        await pool.parse(body, "https://x.example/f", None, None)
        (pid,) = pool.worker_pids()
        os.kill(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=10)
        with pytest.raises(FeedError, match="parser process died"):
            await pool.parse(body, "https://x.example/f", None, None)
        again = await pool.parse(body, "https://x.example/f", None, None)
        assert len(again.items) == len(seeds)
        assert pool.worker_pids() != [pid]
    finally:
        pool.close()


async def test_refusals_cross_the_process_boundary_as_feed_errors() -> None:
    pool = ParsePool(processes=1)
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>'
    try:
        with pytest.raises(FeedError, match="declares XML entities"):
            await pool.parse(bomb, "https://x.example/f", None, None)
    finally:
        pool.close()


ORPHAN_SCRIPT = """
import asyncio, sys
sys.path.insert(0, {root!r})
from watchers.parsepool import ParsePool

# Deliberately no __main__ guard: the worker must not re-run this script.
async def main():
    pool = ParsePool(processes=1)
    feed = b"<rss version='2.0'><channel><title>x</title></channel></rss>"
    await pool.parse(feed, "u", None, None)
    print(pool.worker_pids()[0], flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_workers_die_with_a_killed_parent_and_never_rerun_main(tmp_path: Path) -> None:
    script = tmp_path / "bot_like.py"
    script.write_text(ORPHAN_SCRIPT.format(root=str(Path(__file__).resolve().parents[2])))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        worker = psutil.Process(int(line))
        assert worker.ppid() == parent.pid
        # Only one child: the worker did not execute the script again (which would fork more).
        assert [c.pid for c in psutil.Process(parent.pid).children(recursive=True)] == [worker.pid]
    finally:
        parent.kill()
        parent.wait()
    worker.wait(timeout=10)  # stdin closed with the parent: the worker exits by itself
    assert not worker.is_running()


async def test_a_hanging_worker_is_killed_at_the_limit_and_replaced(seeds: list[Seed]) -> None:
    """A worker that stops answering (SIGSTOP: as good as hung) costs one parse its time limit;
    the worker is killed, the parse fails with a clear error, and a fresh worker parses on."""
    pool = ParsePool(processes=1, timeout_s=1.0)
    body = rss2(seeds).encode()
    try:
        await pool.parse(body, "https://x.example/f", None, None)
        (pid,) = pool.worker_pids()
        os.kill(pid, signal.SIGSTOP)
        with pytest.raises(FeedError, match="longer than 1 s"):
            await pool.parse(body, "https://x.example/f", None, None)
        _gone, alive = psutil.wait_procs([psutil.Process(pid)], timeout=10)
        assert alive == []  # killed, not left behind
        again = await pool.parse(body, "https://x.example/f", None, None)
        assert len(again.items) == len(seeds)
        assert pid not in pool.worker_pids()
    finally:
        pool.close()


async def test_the_limit_counts_from_when_a_worker_has_the_document(seeds: list[Seed]) -> None:
    """Parses queued behind a slow one do not use up their own limit while they wait."""
    pool = ParsePool(processes=1, timeout_s=2.0)
    body = rss2(seeds).encode()
    try:
        results = await asyncio.gather(
            *(pool.parse(body, f"https://x.example/{i}", None, None) for i in range(20))
        )
    finally:
        pool.close()
    assert all(len(r.items) == len(seeds) for r in results)
