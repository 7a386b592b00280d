"""Story grouping: scores on the labelled set, and the cost per article with a full window.

Prints pairwise precision/recall/F1 (English pairs, English-Vietnamese pairs, all) and
B-cubed on tests/data/stories/labelled.jsonl, then the time per ``StoryIndex.add`` on one core
with 10,000 synthetic articles in the open window (many outlets, many events, names drawn from
a shared pool so that candidates really are compared), and the memory the index holds.
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stories.engine import StoryIndex  # noqa: E402
from stories.jsonl import group, read_articles  # noqa: E402
from stories.scoring import bcubed, pairwise  # noqa: E402

FIRST = [
    "Nguyen",
    "Tran",
    "Le",
    "Pham",
    "Hoang",
    "Vu",
    "Vo",
    "Dang",
    "Bui",
    "Do",
    "Ho",
    "Ngo",
    "Duong",
    "Ly",
    "Marco",
    "Sergey",
    "Kaja",
    "David",
]
LAST = [
    "Son",
    "Hang",
    "Minh",
    "Chinh",
    "Lam",
    "Dung",
    "Tuan",
    "Anh",
    "Rubio",
    "Lavrov",
    "Kallas",
    "Lamy",
    "Wang",
    "Iwaya",
    "Cassis",
]
PLACES = [
    "Hanoi",
    "Kuala-Lumpur",
    "Washington",
    "Tokyo",
    "Canberra",
    "Jakarta",
    "Manila",
    "Bangkok",
    "Seoul",
    "Paris",
]
WORDS = [
    "ministers",
    "discussed",
    "cooperation",
    "trade",
    "investment",
    "security",
    "maritime",
    "energy",
    "education",
    "agreed",
    "visit",
    "talks",
    "partnership",
    "economic",
    "relations",
    "regional",
    "issues",
    "support",
    "sides",
]


def scores() -> None:
    lines = (ROOT / "tests/data/stories/labelled.jsonl").read_text(encoding="utf-8").splitlines()
    arts = read_articles(lines)
    story = {d.article_id: d.story for d in group(arts)}
    event = {a.id: str((a.extra or {})["event"]) for a in arts}
    lang = {a.id: a.lang for a in arts}
    print(f"labelled set: {len(arts)} articles, {len(set(event.values()))} events")
    for label, langs in (("en-en", frozenset({"en"})), ("en-vi", frozenset({"en", "vi"}))):
        s = pairwise(story, event, lang, langs)
        print(f"  pairwise {label}: {s}  ({s.true_pairs} true pairs)")
    print(f"  pairwise all:   {pairwise(story, event, lang)}")
    print(f"  B-cubed:        {bcubed(story, event)}")


def synthetic(n: int, rng: random.Random) -> list[tuple[str, str, str, datetime]]:
    start = datetime(2025, 7, 1, tzinfo=UTC)
    events = []
    for e in range(n // 5):
        people = [f"{rng.choice(FIRST)} {rng.choice(LAST)} {e % 97}" for _ in range(2)]
        events.append((people, rng.choice(PLACES), start + timedelta(minutes=e * 2)))
    out = []
    for i in range(n):
        people, place, at = events[rng.randrange(len(events))]
        body = " ".join(rng.choice(WORDS) for _ in range(60))
        title = f"{people[0].title()} meets {people[1].title()} in {place}"
        out.append((f"a{i}", title, f"{title}. On July {at.day} {body}", at))
    return out


def cost(n: int = 10_000) -> None:
    rng = random.Random(13)
    items = synthetic(n * 2, rng)
    index = StoryIndex(window=timedelta(days=30))  # everything stays open: a full window
    for id_, title, text, at in items[:n]:
        index.add(id_, title, text, at, "en")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.process_time()
    measured = items[n : n + 2000]
    for id_, title, text, at in measured:
        index.add(id_, title, text, at, "en")
    elapsed = time.process_time() - t0
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(
        f"cost: {elapsed / len(measured) * 1000:.2f} ms per article (CPU time, one core) with "
        f"{n:,}+ articles and {index.open_stories:,} stories open; "
        f"{grown / len(measured) / 1024:.1f} KiB held per article added"
    )


if __name__ == "__main__":
    scores()
    cost()
