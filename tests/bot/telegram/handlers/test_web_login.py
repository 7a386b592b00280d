"""/web without a console, and in a group (the served console: tests/bot/runtime)."""

from __future__ import annotations

from tests.bot.telegram.harness import GROUP, USER, RunningBot


async def test_web_without_a_console_says_so(rb: RunningBot) -> None:
    assert (await rb.ask("/web")).text == "The web console is not enabled on this bot."


async def test_web_in_a_group_asks_for_a_private_chat(rb: RunningBot) -> None:
    reply = await rb.ask("/web", chat_id=GROUP, user_id=USER, chat_type="group")
    assert reply.text == "Send /web to me in a private chat: the link is yours."
