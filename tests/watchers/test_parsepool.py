"""ParsePool: parsing in a worker process, and surviving the worker's death."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from core.errors import FeedError
from watchers.parsepool import ParsePool

from .seeds import Seed, rss2


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
