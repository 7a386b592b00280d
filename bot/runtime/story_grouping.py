"""The pipeline's story grouping: the open window of ``stories.StoryIndex`` held in memory,
rebuilt from storage at start-up, and consulted for every article of a poll before it is stored.

``group`` runs the pure engine (a few milliseconds an article) outside any transaction and
hands back one ``StoryPlacement`` per article for ``Storage.ingest_many``; ``settle`` then
undoes what the engine did for articles storage did not take as new (a re-polled item whose
story aged out of the window, or an item stored under another identity), so the window only
holds stored articles in their stored stories. ``split`` keeps the window in step with
``Storage.split_article`` made in this process (``/split``), ``follow_splits`` with splits made
elsewhere (``newswatch stories split``), once per polling cycle. Does not store anything
itself and sends nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.models import Article, RuleMatch, StoryMode, StoryPlacement
from rules.engine import RuleSet
from storage.base import IngestResult, IngestStatus, Storage, StoryView
from stories.engine import DEFAULT_WINDOW, Decision, StoryIndex
from stories.fold import guess_lang

log = logging.getLogger(__name__)

YIELD_EVERY_S = 0.02  # give the event loop a turn after this much grouping work
# Splits are looked up from a little before the last look: the command line stamps them with
# its own wall clock, which may run behind the bot's.
SPLIT_OVERLAP = timedelta(minutes=5)


def article_text(article: Article) -> str:
    """What the engine reads besides the title: the longer of content and summary."""
    return article.content if len(article.content) > len(article.summary) else article.summary


@dataclass(frozen=True, slots=True)
class Grouped:
    """One poll's placements, and which articles the engine placed just now (not before)."""

    placements: list[StoryPlacement | None]
    decided: list[bool]


class StoryGrouper:
    """Owns the in-memory window. One per process; not thread-safe (asyncio only)."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.index = StoryIndex(window)
        self._splits_checked: datetime | None = None

    async def load(self, storage: Storage, now: datetime) -> int:
        """Rebuild the window from the stories stored in the last two windows (the engine
        closes a story after one idle window past the horizon); returns articles placed."""
        self._splits_checked = now  # the window read below already has every earlier split
        rows = await storage.story_window(now - 2 * self.index.window)
        for row in rows:
            self.index.place(
                row.identity,
                row.story_key,
                row.title,
                row.text,
                row.published_at or row.first_seen_at,
                guess_lang(f"{row.title} {row.text}"),
                source=row.feed_url,
            )
        log.info(
            "story window rebuilt: %d articles, %d stories", len(rows), self.index.open_stories
        )
        return len(rows)

    async def group(
        self,
        items: Sequence[tuple[Article, Sequence[RuleMatch]]],
        ruleset: RuleSet,
        now: datetime,
    ) -> Grouped:
        """Place each article (oldest first, as the engine expects); yields to the event loop
        now and then, so a large first poll does not stall the sender."""
        placements: list[StoryPlacement | None] = [None] * len(items)
        decided = [False] * len(items)
        order = sorted(range(len(items)), key=lambda i: items[i][0].published_at or now)
        started = time.perf_counter()
        for i in order:
            article, matches = items[i]
            text = article_text(article)
            decision = self.index.add(
                article.identity,
                article.title,
                text,
                article.published_at or now,
                guess_lang(f"{article.title} {text}"),
                article.feed_url,
            )
            decided[i] = decision.reason != "already grouped"
            placements[i] = StoryPlacement(
                decision.story, decision_json(decision), _separate(matches, ruleset)
            )
            if time.perf_counter() - started > YIELD_EVERY_S:
                await asyncio.sleep(0)
                started = time.perf_counter()
        return Grouped(placements, decided)

    def settle(
        self,
        items: Sequence[tuple[Article, Sequence[RuleMatch]]],
        grouped: Grouped,
        results: Sequence[IngestResult],
    ) -> None:
        """Forget the engine's placement of articles storage did not take as new."""
        for (article, _), decided, result in zip(items, grouped.decided, results, strict=True):
            if decided and result.status is not IngestStatus.NEW:
                self.index.forget(article.identity)

    async def follow_splits(self, storage: Storage, now: datetime) -> int:
        """Apply the splits stored since the last look that the window does not have yet;
        returns how many were applied."""
        since = (self._splits_checked or now) - SPLIT_OVERLAP
        self._splits_checked = now
        applied = 0
        for view in await storage.splits_since(since):
            if any(self.index.story_of(a.identity) != view.key for a in view.articles):
                self.split(view)
                applied += 1
        return applied

    def split(self, view: StoryView) -> None:
        """Follow ``Storage.split_article``: ``view`` is the new story of one article."""
        for row in view.articles:
            if self.index.story_of(row.identity) == view.key:
                continue  # already followed
            self.index.split(
                row.identity,
                view.key,
                row.title,
                row.text,
                row.published_at or row.first_seen_at,
                guess_lang(f"{row.title} {row.text}"),
                row.feed_url,
            )


def decision_json(decision: Decision) -> str:
    """The decision as stored with the article (``articles.story_why``)."""
    return json.dumps(
        {
            "reason": decision.reason,
            "joined": decision.joined,
            "compared_with": decision.compared_with,
            "score": decision.score,
            "signals": decision.signals,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _separate(matches: Sequence[RuleMatch], ruleset: RuleSet) -> frozenset[str]:
    out = set()
    for match in matches:
        info = ruleset.get(match.rule_id)
        if info is not None and info.stories is StoryMode.SEPARATE:
            out.add(match.rule_id)
    return frozenset(out)
