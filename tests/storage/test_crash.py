"""Crash test: the bot as a subprocess, SIGKILLed again and again, loses no alert.

A local RSS feed gains matching items while the bot (``python -m bot.cli.main run``, SQLite, the
real python-telegram-bot talking to the fake Bot API) is killed with SIGKILL at random moments and
restarted, at least 20 times. Some kills are aimed at the worst instant: right after the fake
Telegram accepted a message and before the bot heard back (so before it could mark the delivery
sent). At the end every expected alert must have arrived; the only duplicates allowed are messages
that were in flight at a kill, i.e. the last message(s) a killed process got accepted (a folded
digest may span pages). The counts are printed (run with ``-s`` to see them)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web

from core.models import Chat, ChatType
from storage import SqlStorage
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits
from tests.support.processes import bot_env, start_bot

# About a minute on a quiet machine; the bound leaves room for a loaded CI runner.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CHAT = 7001
ITEMS = 33  # matching items published after the first poll, during the kills
KILLS = 22
KILL_AFTER_ACCEPT_EVERY = 3  # every 3rd kill waits for a send the fake has just accepted
SEED = int(os.environ.get("NEWSWATCH_CRASH_SEED", "20251122"))

TOKEN = re.compile(r"crashtest-\d+")
RULES_YAML = """\
rules:
  - id: crash
    name: Crash test
    query: crashtest
"""


@dataclass
class Accepted:
    tokens: frozenset[str]  # the items the message is about (several for a folded digest)
    generation: int  # which bot process got it accepted


class CrashTelegram(FakeTelegramServer):
    """The fake Bot API, recording which bot process each accepted message came from, and able
    to SIGKILL the bot right after accepting a message (before the answer goes back)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generation = 0
        self.accepted: list[Accepted] = []
        self.kill_after_next_accept: subprocess.Popen[bytes] | None = None
        self.killed_after_accept = asyncio.Event()
        self.booted = asyncio.Event()  # the current process reached Telegram (getMe)

    async def _get_me_and_note(self, bot: Any, params: Any) -> Any:
        self.booted.set()
        return await FakeTelegramServer._get_me(self, bot, params)

    async def _send_and_maybe_kill(self, bot: Any, params: Any) -> Any:
        result = await FakeTelegramServer._send_message(self, bot, params)
        tokens = frozenset(TOKEN.findall(str(params.get("text", "")))) or frozenset({"?"})
        self.accepted.append(Accepted(tokens, self.generation))
        victim = self.kill_after_next_accept
        if victim is not None:
            self.kill_after_next_accept = None
            victim.send_signal(signal.SIGKILL)
            self.killed_after_accept.set()
            await asyncio.sleep(0.2)  # the answer would arrive only after the kill
        return result

    _methods: ClassVar[dict[str, Any]] = {
        **FakeTelegramServer._methods,
        "sendmessage": _send_and_maybe_kill,
        "getme": _get_me_and_note,
    }


@dataclass
class Feed:
    items: list[tuple[str, str]] = field(default_factory=list)  # (token, title)

    def xml(self, base: str) -> str:
        entries = "".join(
            f"<item><title>{title}</title><link>{base}/a/{token}</link>"
            f"<guid>{token}</guid><description>Story {token}: crashtest news.</description>"
            "</item>"
            for token, title in self.items
        )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Crash News</title>'
            f"<link>{base}</link><description>test</description>{entries}</channel></rss>"
        )


async def _wait_exit(process: subprocess.Popen[bytes], limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("bot process did not exit")
        await asyncio.sleep(0.02)


async def _first_poll_done(url: str, feed_url: str) -> bool:
    storage = SqlStorage(url)
    await storage.open()
    try:
        state = await storage.get_feed(feed_url)
        return state is not None and state.first_poll_done
    finally:
        await storage.close()


async def test_sigkill_at_random_moments_loses_nothing(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    rng = random.Random(SEED)
    feed = Feed([("crashtest-0", "Baseline crashtest story 0")])  # seen on the first poll
    base = feed_server.url("")

    async def serve(_request: web.Request) -> web.Response:
        return web.Response(text=feed.xml(base), content_type="application/rss+xml")

    feed_url = feed_server.route("/feed.xml", serve)
    config = tmp_path / "config"
    (config / "rules").mkdir(parents=True)
    (config / "rules" / "crash.yaml").write_text(RULES_YAML, encoding="utf-8")
    (config / "feeds.yaml").write_text(
        f'feeds:\n  - url: "{feed_url}"\n    name: Crash News\n    interval: 1s\n',
        encoding="utf-8",
    )
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'nw.db'}"
    storage = SqlStorage(db_url)
    await storage.open()
    await storage.upsert_chat(Chat(id=CHAT, type=ChatType.PRIVATE, title="analyst"))
    await storage.subscribe(CHAT, "crash")
    await storage.close()

    async with CrashTelegram(rate_limits=RateLimits(enabled=False)) as tg:
        tg.add_chat(CHAT, "private")
        env = bot_env(
            db_url,
            config,
            {
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_BASE_URL": tg.base_url,
                "NEWSWATCH_TICK_INTERVAL": "0.2",
                "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES": "true",
                "NEWSWATCH_HEALTH_ADDR": "",
                "NEWSWATCH_LOG_LEVEL": "INFO",
            },
        )
        log = tmp_path / "bot.log"
        bot = start_bot(env, tmp_path, log)
        try:
            await tg.wait_for(lambda: feed_server.hits["/feed.xml"] >= 1, 30, "first poll")
            deadline = time.monotonic() + 30
            while not await _first_poll_done(db_url, feed_url):
                assert time.monotonic() < deadline, "first poll never recorded"
                await asyncio.sleep(0.1)

            kills_after_accept = 0
            for kill in range(1, KILLS + 1):
                # New stories keep coming while the bot keeps dying.
                for n in range((kill - 1) * ITEMS // KILLS + 1, kill * ITEMS // KILLS + 1):
                    feed.items.append((f"crashtest-{n}", f"Crashtest story crashtest-{n}"))
                if kill % KILL_AFTER_ACCEPT_EVERY == 0:
                    tg.killed_after_accept.clear()
                    tg.kill_after_next_accept = bot
                    try:
                        await asyncio.wait_for(tg.killed_after_accept.wait(), 10)
                        kills_after_accept += 1
                    except TimeoutError:  # nothing left to send: kill at once instead
                        tg.kill_after_next_accept = None
                        bot.send_signal(signal.SIGKILL)
                elif kill % 5 == 1:  # during start-up (imports, migrations, first requests)
                    await asyncio.sleep(rng.uniform(0.1, 1.0))
                    bot.send_signal(signal.SIGKILL)
                else:  # a random moment of a running bot: polling, ingesting, sending
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(tg.booted.wait(), 20)
                    await asyncio.sleep(rng.uniform(0.05, 1.5))
                    bot.send_signal(signal.SIGKILL)
                await _wait_exit(bot)
                assert bot.returncode == -signal.SIGKILL, f"bot exited by itself: see {log}"
                tg.generation += 1
                tg.booted.clear()
                bot = start_bot(env, tmp_path, log)

            expected = {f"crashtest-{n}" for n in range(1, ITEMS + 1)}
            await tg.wait_for(
                lambda: expected <= {t for a in tg.accepted for t in a.tokens}, 60, "every alert"
            )
            # Give the last process time to send anything it still (wrongly) would.
            await asyncio.sleep(1.5)
        finally:
            if bot.poll() is None:
                bot.send_signal(signal.SIGTERM)
                await _wait_exit(bot, 15)

    counts = Counter(t for a in tg.accepted for t in a.tokens)
    history = " ".join(
        f"{','.join(sorted(t[10:] for t in a.tokens))}@{a.generation}" for a in tg.accepted
    )
    print(f"\naccepted (items@process): {history}")
    assert "crashtest-0" not in counts  # the first poll is a baseline, not an alert
    missing = expected - counts.keys()
    assert not missing, f"lost alerts: {sorted(missing)}"
    assert set(counts) == expected, f"unexpected messages: {set(counts) - expected}"
    # A message's items may arrive again only if the message was in flight when its process
    # was killed: accepted by Telegram, not yet marked sent. For one chat, sent one message at a
    # time (a folded digest's pages back to back), those are the last messages a killed process
    # got accepted: the repeated messages of a process form the tail of what it sent.
    repeated_messages = 0
    for generation in range(tg.generation + 1):
        sent = [(i, a) for i, a in enumerate(tg.accepted) if a.generation == generation]
        again = [
            any(t in b.tokens for b in tg.accepted[i + 1 :] for t in a.tokens) for i, a in sent
        ]
        if generation == tg.generation:
            assert not any(again), f"the last (not killed) process repeated: {history}"
            continue
        tail = again[again.index(True) :] if any(again) else []
        assert all(tail), f"process {generation} repeated a message not in flight: {history}"
        assert len(tail) <= 2, f"process {generation}: {len(tail)} messages in flight: {history}"
        repeated_messages += len(tail)
    duplicates = sum(n - 1 for n in counts.values())
    assert repeated_messages >= kills_after_accept, "resend policy: in-flight sends are resent"
    print(
        f"\ncrash test: {KILLS} SIGKILLs ({kills_after_accept} right after Telegram accepted a"
        f" message), {ITEMS} alerts expected, {len(tg.accepted)} messages, all delivered;"
        f" {repeated_messages} messages were in flight at a kill and sent again"
        f" ({duplicates} repeated alerts in them), nothing else repeated"
    )

    storage = SqlStorage(db_url)
    await storage.open()
    try:
        assert await storage.pending_count() == 0
    finally:
        await storage.close()
