"""Storing a batch of articles with their matches and queueing their deliveries.

Runs inside one transaction the caller opened; all or nothing. Exactly-once rests on the unique
indexes (article identity; article link + headline; match rule + article identity; delivery
chat + article) and on one rule checked before the insert: a stored canonical link
(``Article.link_key``) is the same article whatever its title or guid. Every insert is
``INSERT ... ON CONFLICT DO NOTHING RETURNING``, so whatever
already exists, or races in, is never stored twice, and the rows it returns say what is new.
A batch costs a handful of statements, whatever its size: the bulk inserts use SQLAlchemy's
"insertmanyvalues" (multi-row INSERT ... RETURNING) on both databases.

The result for each item is the same as ingesting the items one by one, in order. Does not open
transactions, send anything or know about Telegram.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import StorageError
from core.language import article_language
from core.models import (
    Article,
    DeliveryKind,
    DeliveryMode,
    DeliveryState,
    Hit,
    RuleMatch,
    StoryPlacement,
)

from ..base import IngestResult, IngestStatus
from ..keys import title_key
from ..schema import article_edits, articles, chats, deliveries, subscriptions
from ..schema import matches as matches_tbl
from .story_ingest import assign_stories, plan_story_deliveries
from .word_index import write_words


def hits_json(hits: Iterable[Hit]) -> str:
    return json.dumps(
        [{"term": h.term, "field": h.field, "start": h.start, "end": h.end} for h in hits],
        ensure_ascii=False,
        separators=(",", ":"),
    )


class IngestStatements:
    """The bulk statements, built once per storage (SQLAlchemy then compiles them once)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

        def insert(table: Table) -> Any:
            return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

        self.articles = (
            insert(articles).on_conflict_do_nothing().returning(articles.c.id, articles.c.identity)
        )
        self.matches = (
            insert(matches_tbl)
            .on_conflict_do_nothing()
            .returning(matches_tbl.c.rule_id, matches_tbl.c.article_identity)
        )
        self.deliveries = (
            insert(deliveries)
            .on_conflict_do_nothing()
            .returning(deliveries.c.chat_id, deliveries.c.article_id)
        )


@dataclass
class _Item:
    article: Article
    matches: list[RuleMatch]  # one per rule id
    key: str
    article_id: int = 0
    identity: str = ""
    status: IngestStatus = IngestStatus.UNCHANGED
    new_rule_ids: set[str] = field(default_factory=set)
    new_deliveries: int = 0
    story_id: int | None = None  # stories: see storage.sql.story_ingest
    separate_rules: frozenset[str] = frozenset()


async def ingest_batch(
    conn: AsyncConnection,
    statements: IngestStatements,
    batch: Sequence[tuple[Article, Sequence[RuleMatch]]],
    now: datetime,
    alert: bool,
    placements: Sequence[StoryPlacement | None] | None = None,
) -> list[IngestResult]:
    items = [
        _Item(article, _one_per_rule(matches), title_key(article.title))
        for article, matches in batch
    ]
    if not items:
        return []
    await _store_articles(conn, statements, items, now)
    # the word index (storage.words) follows the text: new and edited articles, in this
    # transaction, after their rows (whose triggers put them on the pending list)
    await write_words(
        conn,
        statements.dialect,
        [
            (i.article_id, i.article.title, i.article.summary, i.article.content)
            for i in items
            if i.status in (IngestStatus.NEW, IngestStatus.UPDATED)
        ],
    )
    if placements is not None:
        new: list[tuple[_Item, StoryPlacement]] = []
        for item, placement in zip(items, placements, strict=True):
            if placement is not None:
                item.separate_rules = placement.separate_rules
                if item.status is IngestStatus.NEW:
                    new.append((item, placement))
        fresh = {id(i) for i, _ in new}
        await assign_stories(conn, new, [i for i in items if id(i) not in fresh], now)
    await _store_matches(conn, statements, items, now)
    await _refresh_edited_hits(conn, [i for i in items if i.status is IngestStatus.UPDATED])
    if alert:
        await _queue_deliveries(conn, statements, items, now)
        updated = {i.article_id for i in items if i.status is IngestStatus.UPDATED}
        if updated:
            await _queue_edits(conn, sorted(updated), now)
    return [
        IngestResult(i.article_id, i.status, len(i.new_rule_ids), i.new_deliveries) for i in items
    ]


def _one(rows: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """One row as a plain execute (cheaper than the executemany path for a single row)."""
    return rows[0] if len(rows) == 1 else rows


def _one_per_rule(matches: Sequence[RuleMatch]) -> list[RuleMatch]:
    first: dict[str, RuleMatch] = {}
    for match in matches:
        first.setdefault(match.rule_id, match)
    return list(first.values())


async def _store_articles(
    conn: AsyncConnection, statements: IngestStatements, items: list[_Item], now: datetime
) -> None:
    rows = [
        {
            "identity": i.article.identity,
            "feed_url": i.article.feed_url,
            "feed_name": i.article.feed_name,
            "guid": i.article.guid,
            "link": i.article.link,
            "link_key": i.article.link_key or None,
            "title_key": i.key,
            "title": i.article.title,
            "summary": i.article.summary,
            "content": i.article.content,
            "language": str(
                article_language(i.article.title, i.article.summary, i.article.content)
            ),
            "author": i.article.author,
            "published_at": i.article.published_at,
            "first_seen_at": now,
            "updated_at": now,
            "edit_count": 0,
        }
        for i in items
    ]
    # The same canonical link is the same article whatever its title or guid: items whose link
    # is already stored (or appears earlier in this batch) are not inserted but compared below.
    keys = sorted({i.article.link_key for i in items if i.article.link_key})
    linked: set[str] = set()
    if keys:
        found_keys = select(articles.c.link_key).where(articles.c.link_key.in_(keys))
        linked = {row.link_key for row in await conn.execute(found_keys)}
    fresh_rows: list[dict[str, Any]] = []
    for item, values in zip(items, rows, strict=True):
        key = item.article.link_key
        if key and key in linked:
            continue
        if key:
            linked.add(key)
        fresh_rows.append(values)
    inserted: dict[str, int] = {}
    if fresh_rows:
        result = await conn.execute(statements.articles, _one(fresh_rows))
        inserted = {row.identity: row.id for row in result}
    known: list[_Item] = []
    for item in items:
        article_id = inserted.pop(item.article.identity, None)  # the first occurrence is new
        if article_id is None:
            known.append(item)
        else:
            item.article_id, item.identity = article_id, item.article.identity
            item.status = IngestStatus.NEW
    if not known:
        return
    # Known articles (same identity, or same canonical link under another guid or title): one
    # query for all, then compare and record edits one by one, in batch order.
    by_identity: dict[str, dict[str, Any]] = {}
    by_link: dict[str, dict[str, Any]] = {}
    same = or_(
        articles.c.identity.in_(sorted({i.article.identity for i in known})),
        articles.c.link_key.in_(sorted({i.article.link_key for i in known if i.article.link_key})),
    )
    columns = (
        articles.c.id,
        articles.c.identity,
        articles.c.title,
        articles.c.summary,
        articles.c.content,
        articles.c.link_key,
        articles.c.title_key,
    )
    for stored_row in await conn.execute(select(*columns).where(same).order_by(articles.c.id)):
        found = dict(stored_row._mapping)
        by_identity[found["identity"]] = found
        if found["link_key"]:
            by_link.setdefault(found["link_key"], found)  # the oldest row of a link wins
    for item in known:
        stored = by_identity.get(item.article.identity) or by_link.get(item.article.link_key or "")
        if stored is None:
            raise StorageError(f"article {item.article.identity!r} conflicts but was not found")
        item.article_id, item.identity = stored["id"], stored["identity"]
        item.status = await _update_if_changed(conn, stored, item, now)


async def _update_if_changed(
    conn: AsyncConnection,
    stored: dict[str, Any],
    item: _Item,
    now: datetime,
) -> IngestStatus:
    article = item.article
    if (stored["title"], stored["summary"], stored["content"]) == (
        article.title,
        article.summary,
        article.content,
    ):
        return IngestStatus.UNCHANGED
    await conn.execute(
        article_edits.insert(),
        {
            "article_id": stored["id"],
            "edited_at": now,
            "old_title": stored["title"],
            "old_summary": stored["summary"],
            "old_content": stored["content"],
        },
    )
    values: dict[str, Any] = {
        "title": article.title,
        "summary": article.summary,
        "content": article.content,
        "language": str(article_language(article.title, article.summary, article.content)),
        "author": article.author,
        "updated_at": now,
        "edit_count": articles.c.edit_count + 1,
    }
    if article.link:
        values["link"] = article.link
    if article.published_at is not None:
        values["published_at"] = article.published_at
    link_key = stored["link_key"]
    if item.key != stored["title_key"] and not await _link_title_taken(conn, link_key, item.key):
        # Follow the headline, so a later guid change under the new title is recognised.
        values["title_key"] = item.key
        stored["title_key"] = item.key
    await conn.execute(update(articles).where(articles.c.id == stored["id"]).values(values))
    stored.update(title=article.title, summary=article.summary, content=article.content)
    return IngestStatus.UPDATED


async def _link_title_taken(conn: AsyncConnection, link_key: str | None, key: str) -> bool:
    if not link_key:
        return False
    query = select(articles.c.id).where(
        articles.c.link_key == link_key, articles.c.title_key == key
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def _store_matches(
    conn: AsyncConnection, statements: IngestStatements, items: list[_Item], now: datetime
) -> None:
    rows = [
        {
            "rule_id": match.rule_id,
            "article_identity": item.identity,
            "article_id": item.article_id,
            "hits": hits_json(match.hits),
            "title": item.article.title,
            "link": item.article.link,
            "feed_url": item.article.feed_url,
            "published_at": item.article.published_at,
            "matched_at": now,
        }
        for item in items
        for match in item.matches
    ]
    if not rows:
        return
    created = {
        (r.article_identity, r.rule_id) for r in await conn.execute(statements.matches, rows)
    }
    for item in items:  # a match made twice in one batch counts for its first item
        for match in item.matches:
            if (item.identity, match.rule_id) in created:
                created.discard((item.identity, match.rule_id))
                item.new_rule_ids.add(match.rule_id)


async def _refresh_edited_hits(conn: AsyncConnection, edited: list[_Item]) -> None:
    """An edited article's stored hits point into its old text: replace them with this poll's
    hits, and clear the hits of rules that no longer match (their offsets would bold the wrong
    words of the new text; the match itself is kept, it happened)."""
    for item in edited:
        fresh = {m.rule_id: m for m in item.matches}
        stored = await conn.execute(
            select(matches_tbl.c.id, matches_tbl.c.rule_id).where(
                matches_tbl.c.article_id == item.article_id
            )
        )
        for match_id, rule_id in stored.all():
            match = fresh.get(rule_id)
            await conn.execute(
                update(matches_tbl)
                .where(matches_tbl.c.id == match_id)
                .values(
                    hits=hits_json(match.hits if match else ()),
                    title=item.article.title,
                    link=item.article.link or matches_tbl.c.link,
                )
            )


async def _queue_deliveries(
    conn: AsyncConnection, statements: IngestStatements, items: list[_Item], now: datetime
) -> None:
    """One outbox row per eligible chat that a newly matched rule reaches, naming every matched
    rule the chat subscribes to. A chat whose rules all matched before gets nothing new."""
    alerting = [i for i in items if i.new_rule_ids]
    if not alerting:
        return
    matched = sorted({m.rule_id for i in alerting for m in i.matches})
    query = (
        select(subscriptions.c.chat_id, subscriptions.c.rule_id, subscriptions.c.thread_id)
        .join(chats, chats.c.id == subscriptions.c.chat_id)
        .where(
            subscriptions.c.rule_id.in_(matched),
            subscriptions.c.mode == DeliveryMode.INSTANT.value,
            or_(subscriptions.c.muted_until.is_(None), subscriptions.c.muted_until <= now),
            chats.c.status == "active",
        )
        .order_by(subscriptions.c.chat_id, subscriptions.c.rule_id)
    )
    subscribers: dict[str, list[tuple[int, int | None]]] = {}
    for chat_id, rule_id, thread_id in await conn.execute(query):
        subscribers.setdefault(rule_id, []).append((chat_id, thread_id))
    if not subscribers:
        return
    # (chat, article) -> [rule ids, thread, first item]; one row per pair across the batch
    planned: dict[tuple[int, int], tuple[set[str], int | None, _Item]] = {}
    for item in alerting:
        reached: dict[int, tuple[set[str], int | None]] = {}
        for match in item.matches:
            for chat_id, thread_id in subscribers.get(match.rule_id, ()):
                rules, thread = reached.get(chat_id, (set(), None))
                rules.add(match.rule_id)
                reached[chat_id] = (rules, thread if thread is not None else thread_id)
        for chat_id, (rules, thread) in reached.items():
            if item.new_rule_ids.isdisjoint(rules):
                continue  # this chat's rules matched before: it has (or had) its alert
            pair = (chat_id, item.article_id)
            if pair in planned:
                planned[pair][0].update(rules)
            else:
                planned[pair] = (rules, thread, item)
    if not planned:
        return
    # One alert per story and chat: the other articles of a story edit or extend its alert.
    plan = await plan_story_deliveries(conn, planned, now)
    if not plan:
        return
    rows = [
        {
            "chat_id": p.chat_id,
            "article_id": p.article_id,
            "rule_ids": json.dumps(sorted(p.rules)),
            "thread_id": p.thread_id,
            "kind": p.kind.value,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "story_id": p.story_id,
            "message_id": p.message_id,
        }
        for p in plan
    ]
    created = {
        (r.chat_id, r.article_id) for r in await conn.execute(statements.deliveries, _one(rows))
    }
    for p in plan:
        if (p.chat_id, p.article_id) in created:
            p.item.new_deliveries += 1
        else:
            await _merge_rules_into_pending(conn, (p.chat_id, p.article_id), p.rules, now)


async def _merge_rules_into_pending(
    conn: AsyncConnection, pair: tuple[int, int], rule_ids: set[str], now: datetime
) -> None:
    """A rule newly matched an article whose alert is still unsent: name it in that alert."""
    chat_id, article_id = pair
    row = (
        await conn.execute(
            select(deliveries.c.id, deliveries.c.rule_ids).where(
                deliveries.c.chat_id == chat_id,
                deliveries.c.article_id == article_id,
                deliveries.c.state == DeliveryState.PENDING.value,
            )
        )
    ).first()
    if row is None:
        return
    merged = sorted(set(json.loads(row.rule_ids)) | rule_ids)
    await conn.execute(
        update(deliveries)
        .where(deliveries.c.id == row.id)
        .values(rule_ids=json.dumps(merged), updated_at=now)
    )


async def _queue_edits(conn: AsyncConnection, article_ids: list[int], now: datetime) -> None:
    """Articles changed after their alert went out: queue an edit of each sent message (not of
    one sent to a group that has since become a supergroup: the message is in the old chat,
    where nothing can be sent any more, so such an edit would wait for good)."""
    migrated = select(chats.c.id).where(chats.c.status == "migrated")
    await conn.execute(
        update(deliveries)
        .where(
            and_(
                deliveries.c.article_id.in_(article_ids),
                deliveries.c.state == DeliveryState.SENT.value,
                deliveries.c.message_id.is_not(None),
                # A reply announcing a source is not an alert: it is not rewritten as one.
                deliveries.c.kind != DeliveryKind.REPLY.value,
                deliveries.c.chat_id.not_in(migrated),
            )
        )
        .values(
            state=DeliveryState.PENDING.value,
            kind=DeliveryKind.EDIT.value,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
            updated_at=now,
        )
    )
