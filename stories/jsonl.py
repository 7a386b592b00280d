"""The interchange format of ``newswatch stories group``: one JSON object a line in, one out.

In: ``id``, ``title``, ``text``, ``published`` (ISO 8601; a time without zone is UTC),
``outlet``, ``lang`` and optional ``link`` (other keys, such as a label, are ignored). Out:
``{"id": ..., "story": ...}`` where ``story`` is the id of the story's founding article.
Articles are grouped in order of publication, as the bot sees them. Reads and writes text
streams the caller opened; no other I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from core.errors import ConfigError

from .engine import Decision, StoryIndex


@dataclass(frozen=True, slots=True)
class InputArticle:
    """One line of the input."""

    id: str
    title: str
    text: str
    published: datetime
    outlet: str = ""
    lang: str = "en"
    link: str | None = None
    extra: dict[str, Any] | None = None


def read_articles(lines: Iterable[str]) -> list[InputArticle]:
    """Parse the lines (blank ones skipped); raises ``ConfigError`` naming the bad line."""
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            published = datetime.fromisoformat(str(raw["published"]).replace("Z", "+00:00"))
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            out.append(
                InputArticle(
                    id=str(raw["id"]),
                    title=str(raw.get("title") or ""),
                    text=str(raw.get("text") or ""),
                    published=published.astimezone(UTC),
                    outlet=str(raw.get("outlet") or ""),
                    lang=str(raw.get("lang") or "en"),
                    link=raw.get("link"),
                    extra=raw,
                )
            )
        except (KeyError, ValueError, TypeError) as e:
            raise ConfigError(f"line {number}: {type(e).__name__}: {e}") from e
    return out


def group(articles: Iterable[InputArticle], index: StoryIndex | None = None) -> Iterator[Decision]:
    """Group the articles in order of publication (ties: input order) with one index."""
    index = index or StoryIndex()
    ordered = sorted(enumerate(articles), key=lambda p: (p[1].published, p[0]))
    for _, a in ordered:
        # One outlet's edition in one language stands for one feed, as in the bot.
        source = f"{a.outlet}:{a.lang}" if a.outlet else ""
        yield index.add(a.id, a.title, a.text, a.published, a.lang, source)


def write_groups(decisions: Iterable[Decision], out: TextIO, *, why: bool = False) -> int:
    """One ``{"id", "story"}`` line per decision (with ``why``: the reason and signals too)."""
    count = 0
    for d in decisions:
        row: dict[str, Any] = {"id": d.article_id, "story": d.story}
        if why:
            row.update(reason=d.reason, compared_with=d.compared_with, signals=d.signals)
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
