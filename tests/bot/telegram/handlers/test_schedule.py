"""/mute, /unmute, /digest and their argument parsers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.telegram.handlers import UsageError, parse_digest_schedule, parse_mute_duration
from core.models import DeliveryMode
from tests.bot.telegram.harness import USER, RunningBot, details


async def test_mute_and_unmute(rb: RunningBot) -> None:
    await rb.ask("/subscribe csp")
    reply = (await rb.ask("/mute 1h30m")).text
    assert reply.startswith("🔕 Muted this chat until 11 Jul 2025 20:30 +07")
    until = (await details(rb, USER))["csp"].muted_until
    assert until == rb.clock.now() + timedelta(minutes=90)
    assert (await rb.ask("/mute soon")).text == (
        "❌ “soon” is not a duration. Give a number and a unit: 30m, 2h, 1d, 1w.\n"
        "Usage: /mute DURATION (e.g. 30m, 2h, 1d)"
    )
    assert "at most 365 days" in (await rb.ask("/mute 400d")).text
    assert (await rb.ask("/unmute")).text == "🔔 Alerts for this chat are on again."
    assert (await details(rb, USER))["csp"].muted_until is None


async def test_digest_modes(rb: RunningBot) -> None:
    assert "Subscribe first" in (await rb.ask("/digest csp hourly")).text
    await rb.ask("/subscribe csp")
    assert "one digest every hour" in (await rb.ask("/digest csp hourly")).text
    assert (await details(rb, USER))["csp"].digest_schedule == "hourly"
    reply = (await rb.ask("/digest all daily 7:30")).text
    assert "every day at 07:30 (Asia/Ho_Chi_Minh)" in reply
    assert (await details(rb, USER))["csp"].mode is DeliveryMode.DIGEST
    assert "as stories appear" in (await rb.ask("/digest csp off")).text
    assert (await details(rb, USER))["csp"].mode is DeliveryMode.INSTANT
    assert (await rb.ask("/digest csp weekly")).text.startswith("❌ “weekly” is not a schedule")
    assert "needs a time" in (await rb.ask("/digest csp daily")).text
    assert "not a time of day" in (await rb.ask("/digest csp daily 25:00")).text
    assert "no rule called" in (await rb.ask("/digest nope hourly")).text
    assert (await rb.ask("/digest")).text.startswith("❌ Say which rule and how often.")


def test_duration_and_schedule_parsers() -> None:
    assert parse_mute_duration("1w") == timedelta(weeks=1)
    assert parse_mute_duration("2h 15m") == timedelta(hours=2, minutes=15)
    for bad in ("", "10", "h", "-1h", "0m", "1y"):
        with pytest.raises(UsageError):
            parse_mute_duration(bad)
    assert parse_digest_schedule(["daily", "8:05"]) == "daily 08:05"
    assert parse_digest_schedule(["off"]) is None
    with pytest.raises(UsageError):
        parse_digest_schedule(["hourly", "08:00"])


def test_durations_and_times_as_people_write_them() -> None:
    # Issue #16: "/mute 2 hours" and "/digest csp daily 8am" were refused.
    assert parse_mute_duration("2 hours") == timedelta(hours=2)
    assert parse_mute_duration("1 day 6 hours") == timedelta(days=1, hours=6)
    assert parse_mute_duration("45 mins") == timedelta(minutes=45)
    assert parse_mute_duration("1 week") == timedelta(weeks=1)
    assert parse_mute_duration("90 minutes") == timedelta(minutes=90)
    for bad in ("2 hourz", "hours", "2 years"):
        with pytest.raises(UsageError):
            parse_mute_duration(bad)
    assert parse_digest_schedule(["daily", "8am"]) == "daily 08:00"
    assert parse_digest_schedule(["daily", "8:30pm"]) == "daily 20:30"
    assert parse_digest_schedule(["daily", "8", "am"]) == "daily 08:00"
    assert parse_digest_schedule(["daily", "12am"]) == "daily 00:00"
    assert parse_digest_schedule(["daily", "12pm"]) == "daily 12:00"
    assert parse_digest_schedule(["daily", "20h30"]) == "daily 20:30"
    assert parse_digest_schedule(["daily", "8"]) == "daily 08:00"
    for bad in ("13pm", "0am", "8:61", "eightish"):
        with pytest.raises(UsageError):
            parse_digest_schedule(["daily", bad])


async def test_mute_2_hours_and_digest_daily_8am_in_the_chat(rb: RunningBot) -> None:
    await rb.ask("/subscribe csp")
    reply = (await rb.ask("/mute 2 hours")).text
    assert reply.startswith("🔕 Muted this chat until 11 Jul 2025 21:00 +07")
    reply = (await rb.ask("/digest csp daily 8am")).text
    assert "every day at 08:00" in reply
    assert (await details(rb, USER))["csp"].digest_schedule == "daily 08:00"


async def test_mute_one_rule_and_unmute_it_with_a_catch_up(rb: RunningBot) -> None:
    await rb.ask("/subscribe csp")
    await rb.ask("/subscribe unclos")
    reply = (await rb.ask("/mute csp 2h")).text
    assert reply.startswith("🔕 Muted #csp for this chat until 11 Jul 2025 21:00 +07; other rules")
    muted = await details(rb, USER)
    assert muted["csp"].muted_until == rb.clock.now() + timedelta(hours=2)
    assert muted["unclos"].muted_until is None
    await rb.ingest("Muted story", "csp", minutes=1)
    await rb.ingest("Other rule's story", "unclos", minutes=1)
    assert await rb.storage.pending_count(USER) == 1  # unclos alerts, csp waits
    rb.clock.advance(300)
    assert (await rb.ask("/unmute csp")).text == (
        "🔔 #csp alerts again; a catch-up message brings the 1 match made while it was muted."
    )
    assert (await details(rb, USER))["csp"].muted_until is None
    assert "not muted on its own" in (await rb.ask("/unmute csp")).text
    assert (await rb.ask("/mute csp off")).text.startswith(
        "🔕 Muted #csp for this chat until you unmute it"
    )
    assert (await rb.ask("/unmute csp")).text == (
        "🔔 #csp alerts again; nothing matched while it was muted."
    )
    # bad input
    assert "Say for how long to mute #csp, or off." in (await rb.ask("/mute csp")).text
    assert "“soon” is not a duration" in (await rb.ask("/mute csp soon")).text
    assert "“japan 2h” is not a duration" in (await rb.ask("/mute japan 2h")).text  # unsubscribed
    assert "one subscribed rule" in (await rb.ask("/unmute japan")).text
