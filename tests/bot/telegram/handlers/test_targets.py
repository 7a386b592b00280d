"""Which chat a command changes: groups (their admins only), forum topics, channels."""

from __future__ import annotations

from tests.bot.telegram.harness import (
    ADMIN,
    CHANNEL,
    FORUM,
    GROUP,
    OTHER,
    USER,
    RunningBot,
    details,
    subs,
)


async def test_group_subscriptions_need_a_group_admin(rb: RunningBot) -> None:
    rb.tg.add_chat(GROUP, "group", title="Analysts", admins=[ADMIN + 1])
    bot = rb.tg.bot_username
    refused = await rb.ask(f"/subscribe@{bot} csp", GROUP, user_id=OTHER, chat_type="group")
    assert refused.text == "❌ Only this group's administrators can change its alerts."
    assert await subs(rb, GROUP) == set()
    ok = await rb.ask(f"/subscribe@{bot} csp", GROUP, user_id=ADMIN + 1, chat_type="group")
    assert ok.text.startswith("✅ Subscribed this chat to")
    # everyone may read
    listed = await rb.ask("/list", GROUP, user_id=OTHER, chat_type="group")
    assert "#csp" in listed.text
    # buttons obey the same rule
    page = await rb.ask("/rules", GROUP, user_id=OTHER, chat_type="group")
    answer = await rb.press(page, "Subscribe Japan", user_id=OTHER)
    assert answer == "Only this group's administrators can change its alerts."
    assert await rb.press(page, "Subscribe Japan", user_id=ADMIN + 1) == "Subscribed to Japan"
    assert await subs(rb, GROUP) == {"csp", "japan"}


async def test_forum_topic_subscription_remembers_the_topic(rb: RunningBot) -> None:
    rb.tg.add_chat(FORUM, "supergroup", title="Desk", is_forum=True, admins=[USER])
    reply = await rb.ask("/subscribe unclos", FORUM, user_id=USER, thread_id=17)
    assert reply.message_thread_id == 17
    assert reply.text.endswith("(alerts go to this topic).")
    assert (await details(rb, FORUM))["unclos"].thread_id == 17
    listed = await rb.ask("/list", FORUM, user_id=USER, thread_id=17)
    assert "#unclos — UNCLOS / East Sea · instant, topic 17" in listed.text


async def test_subscribing_again_from_another_topic_says_the_alerts_moved(rb: RunningBot) -> None:
    # Issue #16: the reply said "already subscribed" while the alerts had moved to this topic.
    rb.tg.add_chat(FORUM, "supergroup", title="Desk", is_forum=True, admins=[USER])
    await rb.ask("/subscribe unclos", FORUM, user_id=USER, thread_id=17)
    moved = await rb.ask("/subscribe unclos", FORUM, user_id=USER, thread_id=23)
    assert moved.text == (
        "✅ This chat was subscribed to UNCLOS / East Sea in another topic; its alerts now "
        "come to this topic."
    )
    assert (await details(rb, FORUM))["unclos"].thread_id == 23
    again = await rb.ask("/subscribe unclos", FORUM, user_id=USER, thread_id=23)
    assert again.text == "This chat was already subscribed to UNCLOS / East Sea."
    page = await rb.ask("/rules", FORUM, user_id=USER, thread_id=31)
    answer = await rb.press(page, "Unsubscribe UNCLOS", user_id=USER)
    assert answer.startswith("Unsubscribed")
    page = await rb.ask("/rules", FORUM, user_id=USER, thread_id=31)
    assert (
        await rb.press(page, "Subscribe UNCLOS", user_id=USER) == "Subscribed to UNCLOS / East Sea"
    )


async def test_channel_is_managed_from_a_private_chat(rb: RunningBot) -> None:
    rb.tg.add_chat(CHANNEL, "channel", title="News Desk", username="newsdesk", admins=[USER])
    not_yet = (await rb.ask("/subscribe csp @newsdesk")).text
    assert not_yet.startswith("❌ I cannot post in @newsdesk yet")
    rb.tg.add_chat(CHANNEL, "channel", bot_is_admin=True)
    assert (await rb.ask("/subscribe csp @newsdesk")).text == (
        "✅ Subscribed News Desk to Comprehensive Strategic Partnership."
    )
    assert await subs(rb, CHANNEL) == {"csp"}
    channel = await rb.storage.get_chat(CHANNEL)
    assert channel is not None
    assert channel.type == "channel"
    assert "#csp" in (await rb.ask("/list @newsdesk")).text
    assert await subs(rb, USER) == set()
    refused = await rb.ask("/subscribe csp @newsdesk", chat_id=OTHER)
    assert refused.text == "❌ Only administrators of @newsdesk can do that."
    unknown = (await rb.ask("/subscribe csp @nosuchchannel")).text
    assert unknown.startswith("❌ I cannot see @nosuchchannel")
    assert (await rb.ask(f"/unsubscribe csp {CHANNEL}")).text == (
        "✅ Unsubscribed News Desk from Comprehensive Strategic Partnership."
    )
    rb.tg.add_chat(GROUP, "group", admins=[USER])
    in_group = await rb.ask("/subscribe csp @newsdesk", GROUP, user_id=USER, chat_type="group")
    assert in_group.text.startswith("❌ Manage a channel from your private chat with me.")
