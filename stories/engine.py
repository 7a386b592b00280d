"""The grouping: each new article joins the open story of the same event, or founds one.

A cascade, precision first (docs/stories.md):

1. **Near-duplicate** wire copy: four-word shingles of the two texts overlap (containment) by
   ``NEAR_DUP`` or more -> same story.
   A report from the same feed as one of a story's founders joins only this way: an outlet
   does not report one event twice in one feed, so a second article there is a development
   (a follow-up, a new statement), or, in synthetic test feeds, another story altogether.
2. **Conflict**: each article names someone or somewhere, in its title or lead, that the other
   never mentions (Rubio there, Lavrov here) -> different events. So are explicit event dates
   two or more days apart.
3. **Evidence**: names both mention, weighted by how rare they are in the open window, plus
   the shared concepts (acronyms, numbers, dates, bilingual phrases) and, within one language,
   the shared content words of title and lead. Joins when the score passes the threshold for
   the pair (same language or not) and at least one name is shared (or neither names anyone).

A candidate is compared with a story's founding articles (its first ``FOUNDERS``), never with a
centroid that drifts as articles join: transitive chaining would merge a week of one topic.
Stories close when nothing joined them for ``window``; their memory is freed then, so memory
is bounded by the window. Pure: no I/O, no clock (times come with the articles).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from .features import Features, dates_of, extract

NEAR_DUP: Final = 0.5
THRESHOLD_SAME_LANG: Final = 0.27
THRESHOLD_CROSS_LANG: Final = 0.30
THRESHOLD_NO_NAMES: Final = 0.45
FOUNDERS: Final = 3
SETTING_STORIES: Final = 2
MAX_CANDIDATES: Final = 64
DEFAULT_WINDOW: Final = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Decision:
    """Where an article went and why: ``story`` is the founding article's id; ``joined`` False
    when it founded the story; ``compared_with`` the founder that decided; ``signals`` the
    scores and what was shared or in conflict (JSON-ready)."""

    article_id: str
    story: str
    joined: bool
    reason: str
    compared_with: str | None = None
    score: float = 0.0
    signals: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class _Story:
    key: str
    founders: list[tuple[str, Features]]
    last_at: datetime
    size: int = 1
    apart: set[str] = field(default_factory=set)  # stories a person split this one from


@dataclass(frozen=True, slots=True)
class _Verdict:
    join: bool
    reason: str
    score: float
    signals: dict[str, object]


class StoryIndex:
    """The open stories and the document frequencies of their signals.

    ``add`` groups one article and returns the ``Decision``; the same id twice returns its
    first decision's story. ``place`` puts an article in a known story (loading the window from
    storage, or after a split) without deciding. Not thread-safe; cheap to call from asyncio.
    """

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window
        self._stories: dict[str, _Story] = {}
        self._story_of: dict[str, str] = {}
        self._posting: dict[str, set[str]] = {}  # signal -> story keys whose founders have it
        self._df: Counter[str] = Counter()
        self._docs = 0
        self._order: deque[tuple[datetime, str, frozenset[str]]] = deque()  # for eviction
        self._horizon: datetime | None = None

    def __len__(self) -> int:
        return len(self._story_of)

    def story_of(self, article_id: str) -> str | None:
        return self._story_of.get(article_id)

    @property
    def open_stories(self) -> int:
        return len(self._stories)

    def add(
        self,
        article_id: str,
        title: str,
        text: str,
        published: datetime,
        lang: str = "en",
        source: str = "",
    ) -> Decision:
        """Group one article (see the module docstring). Pure apart from the index itself.
        ``source`` names the feed (one outlet's edition): see the same-feed rule above."""
        known = self._story_of.get(article_id)
        if known is not None:
            return Decision(article_id, known, known != article_id, "already grouped")
        features = extract(title, text, published, lang, source)
        self._evict(published)
        best: tuple[_Verdict, _Story, str] | None = None
        for story in self._candidates(features):
            if source and any(
                f.source == source and _near_dup(features, f) < NEAR_DUP for _, f in story.founders
            ):
                continue  # the feed reported in this story already: a development, not a copy
            for founder_id, founder in story.founders:
                verdict = self._compare(features, founder)
                if verdict.join and (best is None or verdict.score > best[0].score):
                    best = (verdict, story, founder_id)
        self._count(features)
        if best is None:
            self._found(article_id, features)
            return Decision(article_id, article_id, False, "no open story matched")
        verdict, story, founder_id = best
        self._join(story, article_id, features)
        return Decision(
            article_id,
            story.key,
            True,
            verdict.reason,
            founder_id,
            round(verdict.score, 3),
            verdict.signals,
        )

    def place(
        self,
        article_id: str,
        story_key: str,
        title: str,
        text: str,
        published: datetime,
        lang: str = "en",
        apart_from: Iterable[str] = (),
        source: str = "",
    ) -> None:
        """Put an article in ``story_key`` without deciding (it founds it if it is new)."""
        features = extract(title, text, published, lang, source)
        self._count(features)
        story = self._stories.get(story_key)
        if story is None:
            self._found(article_id, features, key=story_key)
            story = self._stories[story_key]
        elif article_id not in self._story_of:
            self._join(story, article_id, features)
        story.apart.update(apart_from)

    def forget(self, article_id: str) -> None:
        """Undo ``add`` for an article that storage did not take as new (a known article seen
        again, or one stored under another identity): it leaves its story, and a story it
        founded alone is dropped. Document frequencies stay counted (a re-poll is rare)."""
        key = self._story_of.pop(article_id, None)
        if key is None:
            return
        story = self._stories.get(key)
        if story is None:
            return
        story.size -= 1
        if story.size <= 0:
            self._drop(key)
        else:
            self._unfound(story, article_id)

    def split(
        self,
        article_id: str,
        new_key: str,
        title: str,
        text: str,
        published: datetime,
        lang: str = "en",
        source: str = "",
    ) -> None:
        """A person moved ``article_id`` into a story of its own (``new_key``): it leaves its
        story (and that story's founders, so later articles are no longer compared with it
        there) and founds the new one; the two record each other in ``apart``."""
        old_key = self._story_of.pop(article_id, None)
        old = self._stories.get(old_key) if old_key is not None else None
        if old is not None:
            old.size -= 1
            self._unfound(old, article_id)
            old.apart.add(new_key)
        self._found(article_id, extract(title, text, published, lang, source), key=new_key)
        if old_key is not None:
            self._stories[new_key].apart.add(old_key)

    def _unfound(self, story: _Story, article_id: str) -> None:
        """Take ``article_id`` out of ``story``'s founders (and the index of their signals)."""
        if not any(a == article_id for a, _ in story.founders):
            return
        for _a, founder in story.founders:
            for signal in self._signals(founder):
                keys = self._posting.get(signal)
                if keys is not None:
                    keys.discard(story.key)
                    if not keys:
                        del self._posting[signal]
        story.founders = [(a, f) for a, f in story.founders if a != article_id]
        for _a, founder in story.founders:
            for signal in self._signals(founder):
                self._posting.setdefault(signal, set()).add(story.key)

    def _drop(self, key: str) -> None:
        story = self._stories.pop(key)
        for _founder_id, founder in story.founders:
            for signal in self._signals(founder):
                keys = self._posting.get(signal)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._posting[signal]

    # -- comparing ---------------------------------------------------------------------------

    def _idf(self, signal: str) -> float:
        return math.log((self._docs + 2) / (self._df[signal] + 1)) + 1.0

    def _compare(self, a: Features, b: Features) -> _Verdict:
        if abs(a.published - b.published) > self.window:
            return _Verdict(False, "outside the window", 0.0, {})
        if a.shingles and b.shingles:
            near = _near_dup(a, b)
            if near >= NEAR_DUP:
                return _Verdict(
                    True, "near-duplicate text", 1.0 + near, {"near_dup": round(near, 3)}
                )
        a_only = sorted(n for n in a.names if not b.mentions(n))
        b_only = sorted(n for n in b.names if not a.mentions(n))
        if a_only and b_only:
            return _Verdict(False, "different names", 0.0, {"conflict": [a_only, b_only]})
        a_dates, b_dates = dates_of(a), dates_of(b)
        if a_dates and b_dates and not (a_dates & b_dates) and _days_apart(a_dates, b_dates) >= 2:
            return _Verdict(
                False, "different dates", 0.0, {"dates": [sorted(a_dates), sorted(b_dates)]}
            )
        shared_names = sorted(
            {n for n in a.names if b.mentions(n)} | {n for n in b.names if a.mentions(n)}
        )
        names_all = a.names | b.names
        shared_concepts = a.concepts & b.concepts
        concepts_all = a.concepts | b.concepts
        num = sum(self._idf(n) for n in shared_names) + sum(self._idf(c) for c in shared_concepts)
        den = sum(self._idf(n) for n in names_all | set(shared_names)) + sum(
            self._idf(c) for c in concepts_all
        )
        entity = num / den if den else 0.0
        signals: dict[str, object] = {
            "names": shared_names,
            "concepts": sorted(shared_concepts),
            "entity": round(entity, 3),
        }
        if a.lang == b.lang:
            lexical = self._cosine(a.words, b.words)
            score = 0.5 * entity + 0.5 * lexical
            signals["lexical"] = round(lexical, 3)
            threshold = THRESHOLD_SAME_LANG
        else:
            score, threshold = entity, THRESHOLD_CROSS_LANG
        if not names_all:
            threshold = THRESHOLD_NO_NAMES
        elif not shared_names:
            return _Verdict(False, "no shared name", score, signals)
        elif (a_only or b_only) and all(self._setting(n) for n in shared_names):
            # One side names someone the other does not, and all they share is the setting
            # (a place or person in several open stories, e.g. the host city of a summit).
            signals["setting"] = shared_names
            return _Verdict(False, "only the setting in common", score, signals)
        signals["score"] = round(score, 3)
        if score >= threshold:
            kind = "same language" if a.lang == b.lang else "across languages"
            return _Verdict(True, f"shared names and signals ({kind})", score, signals)
        return _Verdict(False, "too little in common", score, signals)

    def _setting(self, name: str) -> bool:
        """A name in the founders of two or more open stories: the setting, not the focus."""
        return len(self._posting.get(name, ())) >= SETTING_STORIES

    def _cosine(self, a: frozenset[str], b: frozenset[str]) -> float:
        if not a or not b:
            return 0.0
        shared = sum(self._idf(w) ** 2 for w in a & b)
        na = math.sqrt(sum(self._idf(w) ** 2 for w in a))
        nb = math.sqrt(sum(self._idf(w) ** 2 for w in b))
        return shared / (na * nb)

    # -- bookkeeping -------------------------------------------------------------------------

    def _candidates(self, features: Features) -> list[_Story]:
        hits: Counter[str] = Counter()
        for signal in features.names | features.concepts:
            for key in self._posting.get(signal, ()):
                hits[key] += 1
        if not features.names:  # no names: fall back to the rarest content words
            for word in sorted(features.words, key=self._idf, reverse=True)[:8]:
                for key in self._posting.get(f"w:{word}", ()):
                    hits[key] += 1
        return [self._stories[k] for k, _ in hits.most_common(MAX_CANDIDATES) if k in self._stories]

    def _count(self, features: Features) -> None:
        self._docs += 1
        self._df.update(features.names | features.concepts | features.words)
        self._order.append(
            (features.published, "", frozenset(features.names | features.concepts | features.words))
        )

    def _signals(self, features: Features) -> set[str]:
        return set(features.names | features.concepts) | {f"w:{w}" for w in features.words}

    def _found(self, article_id: str, features: Features, key: str | None = None) -> None:
        key = key or article_id
        self._stories[key] = _Story(key, [(article_id, features)], features.published)
        self._story_of[article_id] = key
        for signal in self._signals(features):
            self._posting.setdefault(signal, set()).add(key)

    def _join(self, story: _Story, article_id: str, features: Features) -> None:
        self._story_of[article_id] = story.key
        story.size += 1
        story.last_at = max(story.last_at, features.published)
        if len(story.founders) < FOUNDERS:
            story.founders.append((article_id, features))
            for signal in self._signals(features):
                self._posting.setdefault(signal, set()).add(story.key)

    def _evict(self, now: datetime) -> None:
        """Forget stories idle for longer than the window, and the counts of old articles."""
        horizon = now - self.window
        if self._horizon is not None and horizon <= self._horizon:
            return
        self._horizon = horizon
        while self._order and self._order[0][0] < horizon - self.window:
            _at, _id, signals = self._order.popleft()
            self._docs -= 1
            self._df.subtract(signals)
        for key in [k for k, s in self._stories.items() if s.last_at < horizon - self.window]:
            story = self._stories.pop(key)
            for _founder_id, founder in story.founders:
                for signal in self._signals(founder):
                    keys = self._posting.get(signal)
                    if keys is not None:
                        keys.discard(key)
                        if not keys:
                            del self._posting[signal]
            for article_id in [a for a, s in self._story_of.items() if s == key]:
                del self._story_of[article_id]


def _near_dup(a: Features, b: Features) -> float:
    """Containment of the shorter text's shingles in the other's (0 without shingles)."""
    if not a.shingles or not b.shingles:
        return 0.0
    return len(a.shingles & b.shingles) / min(len(a.shingles), len(b.shingles))


def _days_apart(a: frozenset[str], b: frozenset[str]) -> int:
    def day(d: str) -> int:
        month, dom = d.removeprefix("date:").split("-")
        return int(month) * 31 + int(dom)

    return min(abs(day(x) - day(y)) for x in a for y in b)
