"""Stories: reading them back (the grouping's open window at start-up, ``stories show``, the
sources an alert lists, digests, ``/recent`` and ``/search`` by story), splitting an article
into a story of its own, and a chat's choice of one alert per article.

Stories are written by the ingest batch (``storage.sql.story_ingest``). Does not group articles
(``stories.engine`` does) and does not render anything.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import StorageError
from core.models import DeliveryKind, StorySource

from ..base import StoryArticle, StoryView
from ..schema import articles, chats, deliveries, stories
from ..schema import matches as matches_tbl
from .engine import SqlEngine

_SOURCE_KINDS = frozenset(
    {DeliveryKind.ALERT, DeliveryKind.EDIT, DeliveryKind.SOURCES, DeliveryKind.REPLY}
)


def _story_article(row: Any, key: str) -> StoryArticle:
    return StoryArticle(
        article_id=row.id,
        identity=row.identity,
        story_id=row.story_id,
        story_key=key,
        title=row.title,
        text=f"{row.summary}\n{row.content}".strip(),
        link=row.link,
        feed_url=row.feed_url,
        feed_name=row.feed_name,
        published_at=row.published_at,
        first_seen_at=row.first_seen_at,
        why=json.loads(row.story_why) if row.story_why else {},
        pinned=bool(row.story_pinned),
    )


def _source(row: Any) -> StorySource:
    return StorySource(
        article_id=row.id,
        title=row.title,
        link=row.link,
        feed_url=row.feed_url,
        feed_name=row.feed_name,
        published_at=row.published_at,
    )


async def load_sources(
    conn: AsyncConnection, rows: Sequence[Any]
) -> dict[int, tuple[StorySource, ...]]:
    """For the outbox rows of story alerts (``deliveries.story_id`` set): the story's articles
    that matched one of the row's rules, the row's own article first, then in order of arrival.
    Only when there are two or more (one source is a plain alert). Keyed by delivery id."""
    story_rows = [
        r for r in rows if r.story_id is not None and DeliveryKind(r.kind) in _SOURCE_KINDS
    ]
    if not story_rows:
        return {}
    story_ids = sorted({r.story_id for r in story_rows})
    members: dict[int, list[Any]] = defaultdict(list)
    for row in await conn.execute(
        select(articles).where(articles.c.story_id.in_(story_ids)).order_by(articles.c.id)
    ):
        members[row.story_id].append(row)
    ids = sorted({a.id for m in members.values() for a in m})
    rules_of: dict[int, set[str]] = defaultdict(set)
    for article_id, rule_id in await conn.execute(
        select(matches_tbl.c.article_id, matches_tbl.c.rule_id).where(
            matches_tbl.c.article_id.in_(ids)
        )
    ):
        rules_of[article_id].add(rule_id)
    out: dict[int, tuple[StorySource, ...]] = {}
    for r in story_rows:
        wanted = set(json.loads(r.rule_ids))
        listed = [a for a in members[r.story_id] if a.id == r.article_id or rules_of[a.id] & wanted]
        listed.sort(key=lambda a: (a.id != r.article_id, a.id))
        if len(listed) >= 2:
            out[r.id] = tuple(_source(a) for a in listed)
    return out


class StoryStorage(SqlEngine):
    """The stories part of ``SqlStorage``."""

    async def story_window(self, since: datetime) -> list[StoryArticle]:
        """Articles of stories touched since ``since`` (the grouping's open window), oldest
        first, so the window can be rebuilt with ``StoryIndex.place`` at start-up."""
        async with self._tx() as conn:
            keys = {
                row.id: (row.key, row.split_from)
                for row in await conn.execute(
                    select(stories.c.id, stories.c.key, stories.c.split_from).where(
                        stories.c.updated_at >= since
                    )
                )
            }
            if not keys:
                return []
            rows = (
                await conn.execute(
                    select(articles)
                    .where(articles.c.story_id.in_(sorted(keys)))
                    .order_by(articles.c.first_seen_at, articles.c.id)
                )
            ).all()
        return [_story_article(row, keys[row.story_id][0]) for row in rows]

    async def get_story(self, story_id: int) -> StoryView | None:
        """One story with its articles and why each joined; None when there is none."""
        async with self._tx() as conn:
            return await _story_view(conn, story_id)

    async def story_of_article(self, article_id: int) -> StoryView | None:
        """The story an article is in (None: no such article, or it has no story)."""
        async with self._tx() as conn:
            story_id = (
                await conn.execute(select(articles.c.story_id).where(articles.c.id == article_id))
            ).scalar_one_or_none()
            return None if story_id is None else await _story_view(conn, story_id)

    async def split_article(self, article_id: int, now: datetime) -> StoryView:
        """Move an article into a story of its own, for good: the new story records the one it
        was split from (``split_from``) and the article is pinned, so neither the grouping nor
        a window rebuild puts it back. Raises ``StorageError`` for an unknown article or one
        that is already alone in its story. Alerts already sent are left as they are."""
        async with self._tx() as conn:
            row = (await conn.execute(select(articles).where(articles.c.id == article_id))).first()
            if row is None or row.story_id is None:
                raise StorageError(f"article {article_id} is not in a story")
            others = (
                await conn.execute(
                    select(articles.c.id).where(
                        articles.c.story_id == row.story_id, articles.c.id != article_id
                    )
                )
            ).first()
            if others is None:
                raise StorageError(f"article {article_id} is already alone in its story")
            new_id = (
                await conn.execute(
                    insert(stories)
                    .values(
                        key=f"split:{row.identity}",
                        title=row.title,
                        split_from=row.story_id,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(stories.c.id)
                )
            ).scalar_one()
            why = json.dumps(
                {"reason": "split by a person", "split_from": row.story_id, "at": now.isoformat()}
            )
            await conn.execute(
                update(articles)
                .where(articles.c.id == article_id)
                .values(story_id=new_id, story_why=why, story_pinned=True)
            )
            # The article's own alerts no longer speak for the old story.
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.article_id == article_id)
                .values(story_id=new_id)
            )
            view = await _story_view(conn, new_id)
        assert view is not None
        return view

    async def splits_since(self, since: datetime) -> list[StoryView]:
        """Stories made by a split at or after ``since``, oldest first (so a running bot can
        follow splits made elsewhere, e.g. by ``newswatch stories split``)."""
        async with self._tx() as conn:
            ids = [
                row.id
                for row in await conn.execute(
                    select(stories.c.id)
                    .where(stories.c.split_from.is_not(None), stories.c.created_at >= since)
                    .order_by(stories.c.id)
                )
            ]
            views = [await _story_view(conn, story_id) for story_id in ids]
        return [v for v in views if v is not None]

    async def set_chat_stories_separate(self, chat_id: int, separate: bool) -> bool:
        """The chat wants one alert per article (True) or per story; False: unknown chat."""
        async with self._tx() as conn:
            result = await conn.execute(
                update(chats).where(chats.c.id == chat_id).values(stories_separate=separate)
            )
        return bool(result.rowcount)

    async def chat_stories_separate(self, chat_id: int) -> bool:
        async with self._tx() as conn:
            value = (
                await conn.execute(select(chats.c.stories_separate).where(chats.c.id == chat_id))
            ).scalar_one_or_none()
        return bool(value)

    async def stories_of_articles(self, article_ids: Iterable[int]) -> dict[int, int]:
        """Article id -> story id, for the given articles that have a story."""
        ids = sorted(set(article_ids))
        if not ids:
            return {}
        async with self._tx() as conn:
            rows = await conn.execute(
                select(articles.c.id, articles.c.story_id).where(
                    articles.c.id.in_(ids), articles.c.story_id.is_not(None)
                )
            )
            return {row.id: row.story_id for row in rows}

    async def sources_by_identity(
        self, identities: Iterable[str]
    ) -> dict[str, tuple[StorySource, ...]]:
        """Article identity -> the other articles of its story, in order of arrival (only for
        articles whose story has others)."""
        wanted = sorted(set(identities))
        if not wanted:
            return {}
        async with self._tx() as conn:
            story_of = {
                row.identity: (row.story_id, row.id)
                for row in await conn.execute(
                    select(articles.c.identity, articles.c.story_id, articles.c.id).where(
                        articles.c.identity.in_(wanted), articles.c.story_id.is_not(None)
                    )
                )
            }
        sources = await self.story_sources(s for s, _ in story_of.values())
        out = {
            identity: tuple(src for src in sources.get(story, ()) if src.article_id != own)
            for identity, (story, own) in story_of.items()
        }
        return {identity: others for identity, others in out.items() if others}

    async def story_sources(self, story_ids: Iterable[int]) -> dict[int, tuple[StorySource, ...]]:
        """Every article of each story, in order of arrival, as sources to list."""
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        out: dict[int, list[StorySource]] = defaultdict(list)
        async with self._tx() as conn:
            for row in await conn.execute(
                select(articles).where(articles.c.story_id.in_(ids)).order_by(articles.c.id)
            ):
                out[row.story_id].append(_source(row))
        return {k: tuple(v) for k, v in out.items()}


async def _story_view(conn: AsyncConnection, story_id: int) -> StoryView | None:
    story = (await conn.execute(select(stories).where(stories.c.id == story_id))).first()
    if story is None:
        return None
    rows = await conn.execute(
        select(articles).where(articles.c.story_id == story_id).order_by(articles.c.id)
    )
    return StoryView(
        id=story.id,
        key=story.key,
        title=story.title,
        split_from=story.split_from,
        created_at=story.created_at,
        articles=tuple(_story_article(row, story.key) for row in rows),
    )
