"""/start, /help, the command menu and commands the bot does not know."""

from __future__ import annotations

from bot.telegram.handlers import ADMIN_COMMANDS, BOT_COMMANDS
from bot.telegram.handlers.commands import set_admin_menus
from tests.bot.telegram.harness import ADMIN, GROUP, OTHER, USER, RunningBot, running_bot


async def test_start_says_what_the_bot_does_and_what_next(rb: RunningBot) -> None:
    reply = await rb.ask("/start")
    lines = reply.text.split("\n")
    assert len([line for line in lines[:3] if line]) == 3
    assert lines[-1].startswith("Next: see the rules with /rules")
    chat = await rb.storage.get_chat(USER)
    assert chat is not None
    assert chat.type == "private"


async def test_help_lists_commands_and_admin_ones_only_for_admins(rb: RunningBot) -> None:
    user_help = (await rb.ask("/help")).text
    assert "/subscribe RULE|all [@channel]" in user_help
    assert "/addfeed" not in user_help
    admin_help = (await rb.ask("/help", chat_id=ADMIN)).text
    assert "/addfeed URL" in admin_help


async def test_command_menu_registers_with_telegram(rb: RunningBot) -> None:
    await rb.application.bot.set_my_commands(BOT_COMMANDS)
    names = [c["command"] for c in rb.tg.commands()]
    assert names[:4] == ["start", "help", "rules", "subscribe"]
    assert "addfeed" not in names
    assert {c.command for c in ADMIN_COMMANDS} >= {"addfeed", "stats"}


async def test_unknown_commands(rb: RunningBot) -> None:
    assert (await rb.ask("/frobnicate now")).text == (
        "❌ I don't know /frobnicate. /help lists what I can do."
    )
    rb.tg.add_chat(GROUP, "group")
    rb.tg.user_sends("/otherbots_command", GROUP, OTHER, "group")
    rb.tg.user_sends("/frobnicate@some_other_bot", GROUP, OTHER, "group")
    reply = await rb.ask("/list", GROUP, user_id=OTHER, chat_type="group")
    assert "no subscriptions" in reply.text  # and nothing was said about the others' commands
    assert len(rb.tg.messages(GROUP)) == 1
    mine = await rb.ask(
        f"/frobnicate@{rb.tg.bot_username}", GROUP, user_id=OTHER, chat_type="group"
    )
    assert mine.text.startswith("❌ I don't know /frobnicate@")


async def test_free_text_in_a_private_chat_gets_a_short_hint(rb: RunningBot) -> None:
    reply = await rb.ask("hello, can you watch Rubio for me?")
    assert reply.text.startswith("I answer commands rather than messages.")
    assert "/search WORDS" in reply.text
    assert "/rules" in reply.text
    rb.tg.add_chat(GROUP, "group")
    rb.tg.user_sends("good morning, everyone", GROUP, OTHER, "group")
    listed = await rb.ask("/list", GROUP, user_id=OTHER, chat_type="group")
    assert "no subscriptions" in listed.text
    assert len(rb.tg.messages(GROUP)) == 1  # people talking in a group get no hint


async def test_free_text_from_a_stranger_is_refused_without_a_hint() -> None:
    async with running_bot(allowed_ids=[ADMIN]) as rb:
        reply = await rb.ask("hello", chat_id=OTHER)
        assert reply.text.startswith("Sorry, this is a private bot.")


async def test_admins_get_the_admin_menu_in_their_own_chat(rb: RunningBot) -> None:
    # an admin who never wrote to the bot has no chat yet: Telegram answers "chat not found"
    assert await set_admin_menus(rb.application.bot, [ADMIN, 424242]) == 0
    await rb.ask("/start", chat_id=ADMIN)  # starting the bot sets it (after the reply)
    await rb.tg.wait_for(lambda: bool(rb.tg.commands(scope=f"chat/{ADMIN}")), what="admin menu")
    admin_menu = [c["command"] for c in rb.tg.commands(scope=f"chat/{ADMIN}")]
    assert {"addfeed", "stats", "promote", "start"} <= set(admin_menu)
    await rb.ask("/start")  # not an admin: no per-chat menu
    await rb.idle()
    assert rb.tg.commands(scope="chat/1001") == []
    assert await set_admin_menus(rb.application.bot, [ADMIN]) == 1
