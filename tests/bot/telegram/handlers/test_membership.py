"""The bot blocked and unblocked, and a group migrating to a supergroup."""

from __future__ import annotations

from tests.bot.telegram.harness import GROUP, USER, RunningBot, is_active, subs


async def test_blocking_and_unblocking_pause_and_resume_the_chat(rb: RunningBot) -> None:
    await rb.ask("/start")
    rb.tg.user_blocks_bot(USER)
    await rb.idle()  # updates are handled in order: the block was handled before /status
    assert not await is_active(rb, USER)
    rb.tg.user_unblocks_bot(USER)
    await rb.idle()
    assert await is_active(rb, USER)


async def test_group_migration_moves_the_subscriptions(rb: RunningBot) -> None:
    rb.tg.add_chat(GROUP, "group", title="Analysts", admins=[USER])
    await rb.ask("/subscribe csp", GROUP, user_id=USER, chat_type="group")
    rb.tg.group_migrates(GROUP, -1009999, user_id=USER)
    await rb.idle()
    assert await subs(rb, -1009999) == {"csp"}
    assert await subs(rb, GROUP) == set()
