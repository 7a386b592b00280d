"""The allowlist: strangers get a polite refusal and no data."""

from __future__ import annotations

from tests.bot.telegram.harness import ADMIN, GROUP, OTHER, USER, running_bot, subs


async def test_strangers_get_a_polite_refusal_and_no_data() -> None:
    async with running_bot(allowed_ids=[USER, GROUP]) as rb:
        await rb.ask("/subscribe csp")
        for command in ("/start", "/list", "/recent csp", "/rules"):
            reply = await rb.ask(command, chat_id=OTHER)
            assert reply.text == (
                "Sorry, this is a private bot. If you should have access, ask its operator to "
                f"add your Telegram ID ({OTHER}) to the allowlist."
            )
        assert await rb.storage.get_chat(OTHER) is None
        # an allowlisted group is open to its members
        rb.tg.add_chat(GROUP, "group", admins=[OTHER])
        member = await rb.ask("/list", GROUP, user_id=OTHER, chat_type="group")
        assert "no subscriptions yet" in member.text
        # a stranger pressing a button in a group that is not on the list
        rb.tg.add_chat(-777, "group", admins=[OTHER + 1])
        page = await rb.ask("/rules", -777, user_id=ADMIN, chat_type="group")
        answer = await rb.press(page, "Subscribe Japan", user_id=OTHER + 1)
        assert await subs(rb, -777) == set()
        assert answer.startswith("Sorry, this is a private bot.")
