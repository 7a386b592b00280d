"""/subscribe, /unsubscribe, /list and /rules with nothing loaded."""

from __future__ import annotations

from tests.bot.telegram.harness import USER, RunningBot, running_bot, subs


async def test_subscribe_unsubscribe_and_their_mistakes(rb: RunningBot) -> None:
    assert (await rb.ask("/subscribe csp")).text == (
        "✅ Subscribed this chat to Comprehensive Strategic Partnership."
    )
    assert "already subscribed" in (await rb.ask("/subscribe CSP")).text
    wrong = (await rb.ask("/subscribe cps")).text
    assert wrong == (
        "❌ There is no rule called “cps”. Did you mean csp? See /rules for the list.\n"
        "Usage: /subscribe RULE|all [@channel]"
    )
    assert (await rb.ask("/subscribe")).text.startswith("❌ Say which rule")
    assert (await rb.ask("/subscribe csp japan")).text.startswith("❌ Give one rule id")
    assert (await rb.ask("/unsubscribe csp")).text == (
        "✅ Unsubscribed this chat from Comprehensive Strategic Partnership."
    )
    assert (await rb.ask("/unsubscribe csp")).text.startswith("This chat was not subscribed")
    assert await subs(rb, USER) == set()


async def test_subscribe_all_and_unsubscribe_all(rb: RunningBot) -> None:
    reply = (await rb.ask("/subscribe all")).text
    assert reply.startswith("✅ Subscribed this chat to all rules (7): #asean #csp")
    assert len(await subs(rb, USER)) == 7
    assert "Nothing to change" in (await rb.ask("/subscribe all")).text
    assert (await rb.ask("/unsubscribe all")).text.startswith(
        "✅ Unsubscribed this chat from all rules (7)"
    )
    assert await subs(rb, USER) == set()


async def test_list_shows_modes_topics_and_mute(rb: RunningBot) -> None:
    assert "no subscriptions yet" in (await rb.ask("/list")).text
    await rb.ask("/subscribe csp")
    await rb.ask("/subscribe unclos")
    await rb.ask("/digest unclos daily 08:00")
    await rb.ask("/mute 2h")
    text = (await rb.ask("/list")).text
    assert "#csp — Comprehensive Strategic Partnership · instant" in text
    assert "#unclos — UNCLOS / East Sea · digest, daily 08:00" in text
    assert "🔕 Muted until 11 Jul 2025 21:00 +07" in text


async def test_no_rules_loaded_is_said_plainly() -> None:
    async with running_bot(rules=()) as rb:
        assert (await rb.ask("/rules")).text == (
            "No rules are loaded yet. An administrator adds them in config/rules/."
        )
        assert "no rule called" in (await rb.ask("/subscribe csp")).text
        assert "Nothing to change" in (await rb.ask("/subscribe all")).text
