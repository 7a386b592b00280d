"""Lists by story: ``/recent`` shows a story once, naming every source that reported it.

``also_reported`` names, as links, the other sources of a ``/search`` result's story.
``fold_by_story`` merges the entries of a list (newest first) whose articles are in one story
into the first (newest) of them, which keeps its place (the story's latest news); it takes the
headline and link of the story's first report, as alerts do, and lists the sources in the order
they reported. Entries without a stored article (pruned) or story stay as they are. Reads storage
(``Storage.stories_of_articles``), formats nothing, changes nothing.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from bot.delivery.alert_format import clean_text, safe_link, shorten
from bot.delivery.story_format import source_label
from bot.telegram.handlers.text import esc
from core.models import StorySource
from storage.base import Storage


class Entry(Protocol):
    title: str
    link: str | None
    feed_url: str
    rule_ids: list[str]
    also: list[str]  # feed URLs of the story's other articles in the list, in list order


E = TypeVar("E", bound=Entry)


async def fold_by_story(storage: Storage, entries: Mapping[object, E]) -> list[E]:
    """``entries`` (keyed by article id, or anything else for an entry without one), in
    order, with each story's entries folded into its first."""
    article_ids = [k for k in entries if isinstance(k, int)]
    story_of = await storage.stories_of_articles(article_ids) if article_ids else {}
    lead: dict[int, E] = {}
    out: list[E] = []
    for key, entry in entries.items():
        story = story_of.get(key) if isinstance(key, int) else None
        if story is None:
            out.append(entry)
            continue
        first = lead.get(story)
        if first is None:
            lead[story] = entry
            out.append(entry)
            continue
        first.rule_ids.extend(r for r in entry.rule_ids if r not in first.rule_ids)
        # ``entry`` reported earlier than everything folded so far: it leads the sources.
        if entry.feed_url != first.feed_url:
            first.also = [first.feed_url, *(u for u in first.also if u != entry.feed_url)]
            first.feed_url = entry.feed_url
        first.title, first.link = entry.title, entry.link
    return out


def also_reported(sources: Sequence[StorySource], limit: int = 5) -> str:
    """The other sources of a result's story as HTML links ("VNA, VietNamNet"); "" if none."""
    names = []
    for source in sources[:limit]:
        name = esc(shorten(clean_text(source_label(source)), 40))
        link = safe_link(source.link)
        names.append(f'<a href="{html.escape(link)}">{name}</a>' if link else name)
    more = len(sources) - limit
    return ", ".join(names) + (f" +{more}" if more > 0 else "")
