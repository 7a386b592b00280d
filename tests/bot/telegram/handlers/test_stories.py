"""``/stories`` (one alert per story or per article, for this chat) and the admins' ``/split``."""

from __future__ import annotations

from pathlib import Path

from core.models import StoryPlacement
from storage.base import StoryView
from storage.sql import SqlStorage
from tests.bot.telegram.harness import ADMIN, USER, RunningBot, running_bot
from tests.support.storage_helpers import match
from tests.support.story_helpers import seed_article


async def test_a_chat_chooses_one_alert_per_story_or_per_article(rb: RunningBot) -> None:
    shown = (await rb.ask("/stories")).text
    assert shown.startswith("This chat gets one alert per story")
    assert not await rb.storage.chat_stories_separate(USER)
    changed = (await rb.ask("/stories separate")).text
    assert changed.startswith("✅ This chat gets one alert per article")
    assert await rb.storage.chat_stories_separate(USER)
    assert (await rb.ask("/stories together")).text.startswith(
        "✅ This chat gets one alert per story"
    )
    assert not await rb.storage.chat_stories_separate(USER)
    bad = (await rb.ask("/stories sometimes")).text
    assert bad == "❌ Say together or separate.\nUsage: /stories [together|separate]"


async def test_split_is_for_admins_and_reports_the_new_story(rb: RunningBot) -> None:
    assert (await rb.ask("/split 1")).text == "❌ That command is for the bot's administrators."
    assert (await rb.ask("/split x", chat_id=ADMIN)).text.startswith(
        "❌ Give the article's number."
    )
    assert (await rb.ask("/split 999", chat_id=ADMIN)).text == "❌ article 999 is not in a story."


class _Splitter:
    def __init__(self) -> None:
        self.views: list[StoryView] = []

    def split(self, view: StoryView) -> None:
        self.views.append(view)


async def test_split_moves_a_stored_article_and_tells_the_grouping(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    splitter = _Splitter()
    async with running_bot(storage=storage, stories=splitter) as rb:
        items = [(seed_article(n), [match("csp")]) for n in ("000", "001")]
        placed = [StoryPlacement("guid:000", "{}"), StoryPlacement("guid:000", "{}")]
        results = await storage.ingest_many(items, rb.clock.now(), stories=placed)
        second = results[1].article_id
        text = (await rb.ask(f"/split {second}", chat_id=ADMIN)).text
        assert text.startswith(f"✂️ Article {second} is now a story of its own (story 2, split from")
        assert [v.id for v in splitter.views] == [2]
        again = await storage.story_of_article(second)
        assert again is not None
        assert again.split_from == 1


async def test_recent_lists_a_story_once_with_every_source(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    async with running_bot(storage=storage) as rb:
        await rb.add_feed("http://127.0.0.1/VNA.xml", name="VNA")
        await rb.add_feed("http://127.0.0.1/VietNamNet.xml", name="VietNamNet")
        await rb.ask("/subscribe csp")
        items = [(seed_article(n), [match("csp")]) for n in ("000", "001", "004")]
        placed = [StoryPlacement(k, "{}") for k in ("s1", "s1", "s2")]
        await storage.ingest_many(items, rb.clock.now(), stories=placed)
        text = (await rb.ask("/recent")).text
        lines = text.splitlines()[1:]
        assert len(lines) == 2  # three articles, two stories
        # The story's first report (VNA's, seed 000) gives the headline; sources in order.
        assert lines[1].startswith("• Vietnamese Deputy PM, FM meets with US, EC, UK officials")
        assert lines[1].endswith("— #csp · 2 sources: VNA, VietNamNet · 11 Jul 15:30")


async def test_search_names_the_other_sources_of_a_result(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    async with running_bot(storage=storage) as rb:
        items = [(seed_article(n), [match("csp")]) for n in ("000", "001", "004")]
        placed = [StoryPlacement(k, "{}") for k in ("s1", "s1", "s2")]
        await storage.ingest_many(items, rb.clock.now(), stories=placed)
        reply = await rb.ask('/search "Kaja Kallas"')
        vna = next(line for line in reply.text.splitlines() if line.startswith("VNA ·"))
        assert vna.endswith("· also: VietNamNet")
        link = next(e for e in reply.entities if e.get("url", "").endswith("001_71b0acd410699836"))
        assert link["type"] == "text_link"
        blinken = await rb.ask("/search Blinken")
        assert "also:" not in blinken.text
