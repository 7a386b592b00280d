"""Stories inside the ingest transaction: storing each new article's story, and routing alerts so
that a chat gets one alert per story.

Called by ``storage.sql.ingest`` with the items of one batch, inside its transaction. Two jobs:

* ``assign_stories``: a NEW article gets the story the grouping chose (``StoryPlacement``): the
  ``stories`` row is created on first use (``INSERT ... ON CONFLICT DO NOTHING`` on its key), the
  article gets ``story_id`` and ``story_why``. A known article keeps the story it has (the
  grouping never moves a stored article; a split is a person's act, ``StoryStorage``).
* ``plan_story_deliveries``: of the (chat, article) alerts the batch would queue, those of an
  article whose story already has an alert row for that chat become, instead of a new alert:
  nothing (the row is still unsent: it will list the new source when it is sent), an edit of the
  sent alert listing the sources (``DeliveryKind.SOURCES``) while the alert is younger than
  ``EDIT_WINDOW``, or after that a short reply threaded to it (``DeliveryKind.REPLY``). Alerts
  stay per article when the chat asked for it (``chats.stories_separate``) or a rule that
  reached the chat says ``stories: separate``.

Does not group (``stories.engine`` does, in the bot) and does not render anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import Article, DeliveryKind, DeliveryState, StoryPlacement

from ..schema import articles, chats, deliveries, stories

# Telegram lets a bot edit its own messages with no documented time limit (the 48-hour limit of
# the Bot API applies to business messages and to deleting messages in groups). We still stop
# editing after 48 hours: an edit does not notify anyone, and a two-day-old message is scrolled
# away, so a new source of an old story is announced as a reply threaded to its alert.
EDIT_WINDOW: Final = timedelta(hours=48)

_STORY_KINDS: Final = tuple(
    k.value for k in DeliveryKind if k.edits_message or k is DeliveryKind.ALERT
)
_LIVE_STATES: Final = (
    DeliveryState.PENDING.value,
    DeliveryState.SENDING.value,
    DeliveryState.SENT.value,
)


class StoryItem(Protocol):
    """What this module needs of an ingest item (``storage.sql.ingest._Item``)."""

    article: Article
    article_id: int
    story_id: int | None
    separate_rules: frozenset[str]
    new_deliveries: int


ItemT = TypeVar("ItemT", bound=StoryItem)


@dataclass(slots=True)
class PlannedRow:
    """One outbox row to insert: an alert (per article, or a story's) or a reply."""

    chat_id: int
    article_id: int
    rules: set[str]
    thread_id: int | None
    item: Any  # the ingest item, to count what it queued
    kind: DeliveryKind = DeliveryKind.ALERT
    story_id: int | None = None
    message_id: int | None = None  # a REPLY's message to reply to


async def assign_stories(
    conn: AsyncConnection,
    new: Sequence[tuple[StoryItem, StoryPlacement]],
    known: Sequence[StoryItem],
    now: datetime,
) -> None:
    """Store the story of each NEW article (creating stories on first use) and read the story
    of each known article, setting ``item.story_id`` on both."""
    if new:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        titles: dict[str, str] = {}
        for item, placement in new:
            titles.setdefault(placement.key, item.article.title)
        await conn.execute(
            insert(stories).on_conflict_do_nothing(),
            [
                {"key": k, "title": t, "created_at": now, "updated_at": now}
                for k, t in titles.items()
            ],
        )
        ids = {
            row.key: row.id
            for row in await conn.execute(
                select(stories.c.id, stories.c.key).where(stories.c.key.in_(sorted(titles)))
            )
        }
        for item, placement in new:
            item.story_id = ids[placement.key]
        await conn.execute(
            update(articles)
            .where(articles.c.id == bindparam("a_id"))
            .values(story_id=bindparam("s_id"), story_why=bindparam("why")),
            [
                {"a_id": item.article_id, "s_id": item.story_id, "why": placement.why}
                for item, placement in new
            ],
        )
        await conn.execute(
            update(stories)
            .where(stories.c.id.in_(sorted(set(ids.values()))))
            .values(updated_at=now)
        )
    if known:
        found = {
            row.id: row.story_id
            for row in await conn.execute(
                select(articles.c.id, articles.c.story_id).where(
                    articles.c.id.in_(sorted({i.article_id for i in known}))
                )
            )
        }
        for item in known:
            item.story_id = found.get(item.article_id)


async def plan_story_deliveries(
    conn: AsyncConnection,
    planned: dict[tuple[int, int], tuple[set[str], int | None, ItemT]],
    now: datetime,
) -> list[PlannedRow]:
    """The rows to insert for ``planned`` ((chat, article) -> rules, topic, item): per-article
    alerts as they are, and per story and chat at most one alert; the other articles of a story
    edit, extend or reply to that alert (see the module docstring). Edits of sent alerts and
    rule merges into unsent ones are written here; the caller inserts the returned rows."""
    chat_ids = sorted({chat for chat, _ in planned})
    separate_chats = {
        row.id
        for row in await conn.execute(
            select(chats.c.id).where(chats.c.id.in_(chat_ids), chats.c.stories_separate)
        )
    }
    rows: list[PlannedRow] = []
    grouped: dict[tuple[int, int], list[PlannedRow]] = {}
    for (chat_id, article_id), (rules, thread, item) in planned.items():
        row = PlannedRow(chat_id, article_id, rules, thread, item)
        if (
            item.story_id is None
            or chat_id in separate_chats
            or not item.separate_rules.isdisjoint(rules)
        ):
            rows.append(row)
        else:
            row.story_id = item.story_id
            grouped.setdefault((chat_id, item.story_id), []).append(row)
    if not grouped:
        return rows
    existing: dict[tuple[int, int], Any] = {}
    query = (
        select(deliveries)
        .where(
            deliveries.c.story_id.in_(sorted({s for _, s in grouped})),
            deliveries.c.chat_id.in_(sorted({c for c, _ in grouped})),
            deliveries.c.kind.in_(_STORY_KINDS),
            deliveries.c.state.in_(_LIVE_STATES),
        )
        .order_by(deliveries.c.id)
    )
    for found in await conn.execute(query):
        existing.setdefault((found.chat_id, found.story_id), found)
    for pair, story_rows in grouped.items():
        alert = existing.get(pair)
        if alert is None:
            # The story's first alert for this chat: the batch's first article of the story;
            # the others of this batch are listed in it as sources (their rules named too).
            first, *rest = story_rows
            for other in rest:
                first.rules |= other.rules
            rows.append(first)
            continue
        rules = set(json.loads(alert.rule_ids))
        for row in story_rows:
            rules |= row.rules
        merged = json.dumps(sorted(rules))
        if alert.state != DeliveryState.SENT.value or alert.message_id is None:
            # Not sent yet: it lists every source when it goes. (One in flight right now
            # carries the sources read just before: the known limit of edits, docs/storage.md.)
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == alert.id)
                .values(rule_ids=merged, updated_at=now)
            )
        elif now - alert.created_at < EDIT_WINDOW:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == alert.id)
                .values(
                    rule_ids=merged,
                    state=DeliveryState.PENDING.value,
                    kind=DeliveryKind.SOURCES.value,
                    attempts=0,
                    next_attempt_at=now,
                    last_error=None,
                    updated_at=now,
                )
            )
            story_rows[0].item.new_deliveries += 1
        else:
            for row in story_rows:
                row.kind = DeliveryKind.REPLY
                row.message_id = alert.message_id
                rows.append(row)
    return rows
