"""``newswatch stories ...``: the story grouping from the command line.

``group FILE.jsonl`` runs exactly the grouping the bot runs (``stories.StoryIndex``), offline:
no database, no network, no settings beyond the command line. Prints one ``{"id", "story"}``
line per article (docs/stories.md). ``show ID`` prints a stored story and why each article is
in it; ``split ARTICLE_ID`` moves an article into a story of its own, for good.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from core.errors import ConfigError, StorageError
from storage.base import Storage, StoryView
from stories.jsonl import group, read_articles, write_groups


def cmd_group(file: Path, out: TextIO, *, why: bool = False) -> int:
    """Group ``file``'s articles and print the stories; 0 on success."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"{file}: {e.strerror or e}") from e
    try:
        articles = read_articles(lines)
    except ConfigError as e:
        raise ConfigError(f"{file}: {e}") from e
    write_groups(group(articles), out, why=why)
    return 0


def format_story(view: StoryView, tz: ZoneInfo | None = None) -> str:
    """A story as ``stories show`` prints it: one block per article, with why it is there
    (the stored decision: reason, the founder it was compared with, score and signals)."""
    tz = tz or ZoneInfo("UTC")
    lines = [f"story {view.id}: {view.title}"]
    if view.split_from is not None:
        lines.append(f"  split from story {view.split_from} (kept apart)")
    lines.append(f"  {len(view.articles)} article{'s' if len(view.articles) != 1 else ''}")
    for a in view.articles:
        when = a.published_at or a.first_seen_at
        lines.append(
            f"- article {a.article_id} · {a.feed_name or a.feed_url} · "
            f"{when.astimezone(tz):%Y-%m-%d %H:%M %Z}{' · pinned' if a.pinned else ''}"
        )
        lines.append(f"  {a.title}")
        if a.link:
            lines.append(f"  {a.link}")
        why = dict(a.why)
        reason = why.pop("reason", "(no decision stored)")
        score = why.pop("score", None)
        compared = why.pop("compared_with", None)
        why.pop("joined", None)
        head = f"  why: {reason}"
        if compared:
            head += f" (compared with {compared})"
        if score:
            head += f", score {score}"
        lines.append(head)
        signals = why.pop("signals", None)
        if signals:
            lines.append(f"  signals: {json.dumps(signals, ensure_ascii=False, sort_keys=True)}")
        for key, value in sorted(why.items()):
            lines.append(f"  {key}: {value}")
    return "\n".join(lines) + "\n"


async def cmd_show(storage: Storage, story_id: int, out: TextIO, *, article: bool = False) -> int:
    """Print one story (``article``: the story of that article); 1 when there is none."""
    view = await (storage.story_of_article(story_id) if article else storage.get_story(story_id))
    if view is None:
        what = "article" if article else "story"
        out.write(f"newswatch stories show: no {what} {story_id} (or it has no story)\n")
        return 1
    out.write(format_story(view))
    return 0


async def cmd_split(storage: Storage, article_id: int, now: datetime, out: TextIO) -> int:
    """Move one article into a story of its own, for good (``Storage.split_article``). A bot
    running on the same database applies it at its next polling cycle; ``/split`` in Telegram
    takes effect at once."""
    try:
        view = await storage.split_article(article_id, now)
    except StorageError as e:
        out.write(f"newswatch stories split: {e}\n")
        return 1
    out.write(
        f"article {article_id} is now alone in story {view.id}, split from {view.split_from}\n"
    )
    return 0
