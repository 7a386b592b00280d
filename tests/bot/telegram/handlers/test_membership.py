"""The bot blocked and unblocked, and a group migrating to a supergroup."""

from __future__ import annotations

from core.models import ChatSettings, Language
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


async def test_group_migration_keeps_the_chats_settings_in_force(rb: RunningBot) -> None:
    rb.tg.add_chat(GROUP, "group", title="Analysts", admins=[USER])
    chosen = ChatSettings(language=Language.VI, timezone="Europe/Paris")
    await rb.storage.save_chat_settings(GROUP, chosen, rb.clock.now())
    rb.services.chat_prefs.put(GROUP, chosen)
    rb.tg.group_migrates(GROUP, -1009999, user_id=USER)
    await rb.idle()
    assert rb.services.chat_prefs.get(-1009999) == chosen  # not only in storage: in force
    assert rb.services.chat_prefs.get(GROUP) == ChatSettings()
