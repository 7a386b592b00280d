"""The rules page's buttons: turning pages, subscribing, unsubscribing, stale buttons."""

from __future__ import annotations

from tests.bot.telegram.harness import USER, RunningBot, subs


async def test_rules_are_paged_with_subscribe_buttons(rb: RunningBot) -> None:
    page = await rb.ask("/rules")
    assert page.text.startswith("Rules (1/2)")
    assert "The law of the sea & disputes <in> the East Sea." in page.text
    labels = [b["text"] for b in page.buttons]
    assert labels[-1] == "Next ▶"
    assert sum(label.startswith("➕ Subscribe") for label in labels) == 5

    assert await rb.press(page, "Next ▶") == ""
    [page] = rb.tg.messages(USER)
    assert page.text.startswith("Rules (2/2)")
    assert [b["text"] for b in page.buttons][-1] == "◀ Previous"

    answer = await rb.press(page, "Subscribe A rule with a very long id")
    assert answer == "Subscribed to A rule with a very long id"
    assert "x" * 70 in await subs(rb, USER)
    [page] = rb.tg.messages(USER)
    assert page.button("Unsubscribe A rule")  # the page was redrawn
    assert "✅ A rule with a very long id" in page.text

    assert (
        await rb.press(page, "Unsubscribe A rule") == "Unsubscribed from A rule with a very long id"
    )
    assert await subs(rb, USER) == set()


async def test_button_for_a_removed_rule_says_so(rb: RunningBot) -> None:
    page = await rb.ask("/rules")
    data = page.button("Subscribe Japan")["callback_data"]
    page.reply_markup = {
        "inline_keyboard": [[{"text": "➕ Subscribe Gone", "callback_data": "s:gone:0"}]]
    }
    assert data.startswith("s:japan")
    assert await rb.press(page, "Subscribe Gone") == "That rule no longer exists."
