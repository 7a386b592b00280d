"""Telegram delivery benchmark, against the fake Bot API server enforcing Telegram's limits.

1. Fan-out: one alert to N chats (default 3,000) through TelegramSink (paced) with 30
   concurrent senders, as the outbox runs it. Reports achieved messages/s against the 30/s limit
   and the 429s the server answered. Baseline in the same run: the same sender without pacing
   (retrying each 429 after retry_after), over a smaller set of chats.
2. Burst: 200 matches for one private chat within seconds. Folded (``should_fold`` ->
   ``format_digest`` -> ``send_digest``): how many messages, how long. Baseline in the same run:
   the first few alerts sent one by one at the per-chat rate, extrapolated to 200.

Run: ``.venv/bin/python benchmarks/bench_telegram.py [--chats 3000] [--baseline-chats 300]``.
Takes about 2 minutes: 3,000 messages at 30/s is 100 s by nature.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram.request import HTTPXRequest

from bot.delivery.folding import format_digest, items_from_deliveries, should_fold
from bot.delivery.pacing import PaceLimits, SendPacer
from bot.delivery.sink import SendStatus
from bot.delivery.telegram_sink import TelegramSink
from bot.telegram.rate_limiter import paced_bot
from core.models import Article, Delivery, Hit, RuleInfo, RuleMatch
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits

RULES = [RuleInfo(id="csp", name="Comprehensive Strategic Partnership")]
UNPACED = PaceLimits(global_count=100_000, private_window_s=0.0)
T0 = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)


def make_delivery(i: int, chat_id: int, created_s: float = 0.0) -> Delivery:
    summary = (
        "Officials met in Kuala Lumpur. The Comprehensive Strategic Partnership between the "
        "two countries was reviewed, with new steps on trade and security."
    )
    start = summary.index("Comprehensive")
    article = Article(
        feed_url="https://news.example/rss",
        identity=f"guid:{i}",
        title=f"Vietnam and partners review ties, story {i}",
        link=f"https://news.example/story/{i}",
        summary=summary,
        published_at=T0,
        feed_name="News Example",
    )
    hit = Hit("csp", "summary", start, start + len("Comprehensive Strategic Partnership"))
    return Delivery(
        id=i,
        chat_id=chat_id,
        article=article,
        matches=(RuleMatch("csp", (hit,)),),
        created_at=T0 + timedelta(seconds=created_s),
    )


@dataclass
class FanOut:
    sent: int
    seconds: float
    rate: float
    server_429: int
    retries: int


async def fan_out(chats: int, paced: bool) -> FanOut:
    async with FakeTelegramServer(rate_limits=RateLimits()) as tg:
        ids = list(range(10_000_001, 10_000_001 + chats))
        for chat_id in ids:
            tg.add_chat(chat_id)
        request = HTTPXRequest(connection_pool_size=32)
        pacer = SendPacer() if paced else SendPacer(UNPACED)
        async with paced_bot(
            DEFAULT_TOKEN, base_url=tg.base_url, pacer=pacer, request=request
        ) as bot:
            sink = TelegramSink(bot)
            queue: asyncio.Queue[int] = asyncio.Queue()
            for chat_id in ids:
                queue.put_nowait(chat_id)
            retries = 0
            times: list[float] = []

            async def worker() -> None:
                nonlocal retries
                while True:
                    try:
                        chat_id = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    while True:
                        outcome = await sink.deliver(make_delivery(1, chat_id), RULES)
                        if outcome.status is SendStatus.SENT:
                            times.append(time.perf_counter())
                            break
                        if outcome.status is not SendStatus.RETRY:
                            raise RuntimeError(f"unexpected outcome {outcome}")
                        retries += 1
                        await asyncio.sleep(outcome.retry_after_s or 1.0)

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(30)))
            seconds = time.perf_counter() - start
        span = max(times) - min(times) if len(times) > 1 else seconds
        return FanOut(
            sent=len(tg.messages()),
            seconds=seconds,
            rate=(len(times) - 1) / span if span > 0 else 0.0,
            server_429=tg.too_many_requests,
            retries=retries,
        )


@dataclass
class Burst:
    messages: int
    seconds: float
    server_429: int


async def burst_folded(matches: int) -> Burst:
    chat_id = 555
    async with FakeTelegramServer(rate_limits=RateLimits()) as tg:
        tg.add_chat(chat_id)
        async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
            sink = TelegramSink(bot)
            pending = [make_delivery(i, chat_id, created_s=i * 0.05) for i in range(matches)]
            start = time.perf_counter()
            if not should_fold(pending):
                raise RuntimeError("a burst of this size should fold")
            pages = format_digest(
                items_from_deliveries(pending), {r.id: r for r in RULES}, ZoneInfo("UTC")
            )
            outcome = await sink.send_digest(chat_id, pages)
            seconds = time.perf_counter() - start
            if outcome.status is not SendStatus.SENT:
                raise RuntimeError(f"digest not sent: {outcome}")
        return Burst(len(tg.messages(chat_id)), seconds, tg.too_many_requests)


async def burst_unfolded_sample(sample: int) -> Burst:
    chat_id = 556
    async with FakeTelegramServer(rate_limits=RateLimits()) as tg:
        tg.add_chat(chat_id)
        async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
            sink = TelegramSink(bot)
            start = time.perf_counter()
            for i in range(sample):
                outcome = await sink.deliver(make_delivery(i, chat_id), RULES)
                if outcome.status is not SendStatus.SENT:
                    raise RuntimeError(f"not sent: {outcome}")
            seconds = time.perf_counter() - start
        return Burst(len(tg.messages(chat_id)), seconds, tg.too_many_requests)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--baseline-chats", type=int, default=300)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()

    baseline = await fan_out(args.baseline_chats, paced=False)
    paced = await fan_out(args.chats, paced=True)
    folded = await burst_folded(args.burst)
    sample = await burst_unfolded_sample(5)
    per_message = sample.seconds / max(sample.messages - 1, 1)
    unfolded_estimate = per_message * (args.burst - 1)

    print("Telegram delivery against the fake Bot API (Telegram's limits: 30/s, 1/s per chat)")
    print()
    print("| scenario | messages | time (s) | achieved msg/s | 429s from server | retries |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| fan-out, unpaced baseline ({args.baseline_chats} chats, 429 -> wait retry_after) "
        f"| {baseline.sent} | {baseline.seconds:.1f} | {baseline.rate:.1f} "
        f"| {baseline.server_429} | {baseline.retries} |"
    )
    print(
        f"| fan-out, TelegramSink + SendPacer ({args.chats} chats) | {paced.sent} "
        f"| {paced.seconds:.1f} | {paced.rate:.1f} | {paced.server_429} | {paced.retries} |"
    )
    print(
        f"| burst of {args.burst} matches, one chat, folded | {folded.messages} "
        f"| {folded.seconds:.1f} | - | {folded.server_429} | - |"
    )
    print(
        f"| burst of {args.burst} matches, one chat, one by one (5 measured, extrapolated) "
        f"| {args.burst} | {unfolded_estimate:.0f} | {1 / per_message:.2f} "
        f"| {sample.server_429} | - |"
    )
    print()
    verdict = "PASS" if paced.rate >= 27 and paced.server_429 == 0 else "FAIL"
    print(f"target >= 27 msg/s with zero 429s: {verdict} ({paced.rate:.1f} msg/s)")


if __name__ == "__main__":
    asyncio.run(main())
