"""PacedRateLimiter: the real python-telegram-bot ExtBot, paced by our pacer, against the fake
Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.delivery.pacing import PaceLimits, SendPacer
from bot.telegram.rate_limiter import RateLimitArgs, chat_key, is_message_endpoint, paced_bot
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits

# Fast enough for a test, slow enough to see: 0.3 s between two messages to one private chat.
LIMITS = PaceLimits(global_count=1000, private_window_s=0.3, group_count=1000)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as server:
        server.add_chat(42)
        server.add_chat(43)
        yield server


@pytest.fixture
def pacer() -> SendPacer:
    return SendPacer(LIMITS)


@pytest.fixture
async def bot(tg: FakeTelegramServer, pacer: SendPacer) -> AsyncIterator[ExtBot[RateLimitArgs]]:
    async with paced_bot(DEFAULT_TOKEN, base_url=tg.base_url, pacer=pacer) as b:
        yield b


def test_which_requests_are_messages() -> None:
    for endpoint in ("sendMessage", "sendDocument", "editMessageText", "copyMessage"):
        assert is_message_endpoint(endpoint)
    for endpoint in ("getMe", "getChatMember", "answerCallbackQuery", "setMyCommands"):
        assert not is_message_endpoint(endpoint)
    assert chat_key(42) == 42
    assert chat_key("-100500") == -100500
    assert chat_key("@desk") == "@desk"
    assert chat_key(None) is None
    assert chat_key(True) is None


async def test_two_messages_to_one_private_chat_are_paced(
    bot: ExtBot[RateLimitArgs], tg: FakeTelegramServer
) -> None:
    await bot.send_message(42, "one")
    await bot.send_message(43, "other chat: not held back")
    await bot.send_message(42, "two")
    first, other, second = tg.calls_of("sendMessage")
    # The window counts from the first request's completion, which is after its arrival.
    assert second.received_at - first.received_at >= LIMITS.private_window_s
    assert other.received_at - first.received_at < LIMITS.private_window_s


async def test_a_429_on_a_message_is_not_retried_and_holds_the_chat(
    bot: ExtBot[RateLimitArgs], tg: FakeTelegramServer, pacer: SendPacer
) -> None:
    tg.inject_error("sendMessage", 429, "Too Many Requests: retry after 5", {"retry_after": 5})
    with pytest.raises(RetryAfter):
        await bot.send_message(42, "one")
    assert len(tg.calls_of("sendMessage")) == 1  # the sender's outcome policy decides
    held, free = pacer.earliest(42), pacer.earliest(43)
    assert held is not None
    assert free is not None
    assert held >= free + 4


async def test_a_429_on_another_request_is_waited_out_and_retried_once(
    bot: ExtBot[RateLimitArgs], tg: FakeTelegramServer
) -> None:
    tg.inject_error("getChat", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    chat = await bot.get_chat(42)
    assert chat.id == 42
    calls = tg.calls_of("getChat")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].received_at - calls[0].received_at >= 1.0


async def test_a_long_429_on_another_request_is_not_waited_out(
    bot: ExtBot[RateLimitArgs], tg: FakeTelegramServer
) -> None:
    tg.inject_error("getChat", 429, "Too Many Requests: retry after 60", {"retry_after": 60})
    with pytest.raises(RetryAfter):
        await bot.get_chat(42)
    assert len(tg.calls_of("getChat")) == 1


async def test_max_retries_from_the_call_overrides_the_default(
    bot: ExtBot[RateLimitArgs], tg: FakeTelegramServer
) -> None:
    tg.inject_error("sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    await bot.send_message(42, "one", rate_limit_args={"max_retries": 1})
    assert [c.status for c in tg.calls_of("sendMessage")] == [429, 200]


async def test_a_held_chat_holds_its_other_requests_too(
    bot: ExtBot[RateLimitArgs], tg: FakeTelegramServer, pacer: SendPacer
) -> None:
    pacer.hold(42, 0.5)
    await bot.get_chat(43)  # another chat: not held
    await bot.get_chat(42)
    free, held = tg.calls_of("getChat")
    assert held.received_at - free.received_at >= 0.4
