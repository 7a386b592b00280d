"""The personal-rules, files and feed-administration catalogue: its counts, and English that
says what the rest of the bot says (the log's first-poll sentence)."""

from __future__ import annotations

import re

from bot.i18n import text
from bot.i18n.admin_messages import EN, VI, counted
from bot.runtime.feed_edits import next_step
from bot.telegram.handlers.commands import COMMANDS
from core.models import Language
from core.text import first_poll_text, plural

NOUNS = sorted({m.group(1) for k in EN if (m := re.match(r"adm\.n\.(\w+)\.one$", k))})


def test_counts_in_english_are_core_plurals_and_vietnamese_has_one_form() -> None:
    assert NOUNS
    for noun in NOUNS:
        word = noun.replace("_", " ")
        for n in (0, 1, 2, 21):
            assert counted(None, n, noun) == plural(n, word)
        assert counted(Language.VI, 1, noun) == counted(Language.VI, 3, noun).replace("3", "1")
        assert VI[f"adm.n.{noun}.one"] == VI[f"adm.n.{noun}.many"]
    assert counted(Language.VI, 3, "feed") == "3 nguồn tin"
    assert counted(Language.VI, 2, "personal_rule") == "2 quy tắc cá nhân"


def test_the_first_poll_notice_says_what_the_log_says() -> None:
    for items in (1, 23):
        items_text = counted(None, items, "existing_item")
        assert text(None, "feeds.first_poll", items=items_text) == first_poll_text(items)


def test_every_next_step_of_a_refused_feed_address_is_translated() -> None:
    problems = (
        "blocked address: 127.0.0.1 is a loopback address",
        "cannot resolve x.invalid",
        "HTTP 404",
        "HTTP 503",
        "timed out",
        "not an RSS or Atom feed",
        "something else",
    )
    english = [next_step(p) for p in problems]
    vietnamese = [next_step(p, Language.VI) for p in problems]
    assert len(set(english)) == len(set(vietnamese)) == 6  # HTTP 503 and timed out: the same
    assert all(e != v for e, v in zip(english, vietnamese, strict=True))
    assert "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES=true" in vietnamese[0]


def test_the_english_usage_lines_are_the_command_tables() -> None:
    usages = {c.name: c.usage for c in COMMANDS}
    ours = [k.removeprefix("adm.usage.") for k in EN if k.startswith("adm.usage.")]
    assert ours
    for command in ours:
        assert EN[f"adm.usage.{command}"] == usages[command]
