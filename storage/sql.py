"""``SqlStorage``: the ``Storage`` protocol over SQLAlchemy 2 Core (async), SQLite or PostgreSQL.

One class, two databases, chosen by URL (``sqlite+aiosqlite:///path`` or
``postgresql+asyncpg://...``). Exactly-once is carried by unique constraints (see the migrations
and docs/storage.md), not by checks in Python: every insert that could race is an
``INSERT ... ON CONFLICT DO NOTHING`` and its outcome is read back from ``RETURNING``.

Does not send anything, render alerts or decide retry delays: the outbox sender does.
"""

from __future__ import annotations

import csv
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    event,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from core.errors import StorageError
from core.models import (
    Article,
    Chat,
    ChatType,
    Delivery,
    DeliveryKind,
    DeliveryMode,
    DeliveryState,
    FeedConfig,
    FeedState,
    Hit,
    RuleMatch,
)

from . import migrate
from .base import (
    ArticleHit,
    ExportFormat,
    IngestResult,
    StoredMatch,
    Subscription,
)
from .ingest import IngestStatements, ingest_batch
from .keys import query_words, snippet
from .schema import (
    UNFINISHED_STATES,
    UtcDateTime,
    articles,
    chats,
    deliveries,
    subscriptions,
)
from .schema import feeds as feeds_tbl
from .schema import matches as matches_tbl

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30.0
SQLITE_CACHE_KIB = 32 * 1024  # per connection; the default 2 MiB thrashes on FTS updates
# A "sending" row owned by this very process is in flight and must not be handed out again;
# after this long it is treated as abandoned (a send that hung or an exception the sender lost).
SENDING_LEASE = timedelta(minutes=5)
# Search scores only the newest this-many articles that contain all the words: news search
# wants recent stories, and it keeps a query over very common words fast.
SEARCH_WINDOW = 200

_FEED_STATE_FIELDS = (
    "name",
    "interval_s",
    "full_text",
    "enabled",
    "title",
    "etag",
    "last_modified",
    "body_hash",
    "next_check_at",
    "last_checked_at",
    "last_success_at",
    "last_new_item_at",
    "last_error",
    "last_error_at",
    "consecutive_errors",
    "items_seen",
    "avg_new_item_interval_s",
    "first_poll_done",
    "disabled_reason",
    "health_reported_at",
    "redirected_to",
    "failing_since",
)

EXPORT_COLUMNS = (
    "matched_at",
    "rule_id",
    "article_id",
    "title",
    "link",
    "feed_url",
    "published_at",
    "hits",
)


def _wall_now() -> datetime:
    return datetime.now(UTC)


def _hits_from_json(raw: str | None) -> tuple[Hit, ...]:
    if not raw:
        return ()
    return tuple(
        Hit(term=h["term"], field=h["field"], start=int(h["start"]), end=int(h["end"]))
        for h in json.loads(raw)
    )


def _one_line(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message[:300]}"


class SqlStorage:
    """Storage over SQLAlchemy Core async. ``await open()`` before use, ``await close()`` after.

    Driver and SQL errors surface as ``StorageError`` with a one-line message.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: AsyncEngine | None = None
        # Identifies this process's "sending" rows, so rows left by a crashed predecessor can be
        # told from rows this process has in flight right now.
        self._owner = uuid.uuid4().hex
        self._dialect = make_url(url).get_backend_name()
        self._ingest_statements = IngestStatements(self._dialect)

    # lifecycle ---------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._dialect

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StorageError("storage is not open: call open() first")
        return self._engine

    async def open(self) -> None:
        """Connect, and run the migrations up to head (creating the schema on first use)."""
        if self._engine is not None:
            return
        try:
            self._engine = create_engine(self._url)
            await migrate.upgrade(self._engine)
        except StorageError:
            raise
        except (SQLAlchemyError, OSError) as e:
            await self.close()
            raise StorageError(f"cannot open database: {_one_line(e)}") from e

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; commits on success, rolls back and wraps driver errors otherwise."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except StorageError:
            raise
        except (SQLAlchemyError, OSError) as e:
            raise StorageError(f"database error: {_one_line(e)}") from e

    def _insert(self, table: Table) -> Any:
        """A dialect insert construct, which has ``on_conflict_do_nothing``/``_do_update``."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # feeds -------------------------------------------------------------------------------
    async def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        wanted = {f.url: f for f in feeds}
        async with self._tx() as conn:
            stored = set((await conn.execute(select(feeds_tbl.c.url))).scalars())
            for url in stored - wanted.keys():
                await conn.execute(sql_delete(feeds_tbl).where(feeds_tbl.c.url == url))
            for feed in wanted.values():
                config_values = {
                    "name": feed.name,
                    "tags": json.dumps(list(feed.tags)),
                    "interval_s": feed.interval_s,
                    "full_text": feed.full_text,
                    "enabled": feed.enabled,
                    "updated_at": now,
                }
                if feed.url in stored:
                    await conn.execute(
                        update(feeds_tbl).where(feeds_tbl.c.url == feed.url).values(**config_values)
                    )
                else:
                    await conn.execute(
                        feeds_tbl.insert().values(
                            url=feed.url, next_check_at=now, created_at=now, **config_values
                        )
                    )

    async def due_feeds(self, now: datetime, limit: int = 100) -> list[FeedState]:
        query = (
            select(feeds_tbl)
            .where(
                feeds_tbl.c.enabled.is_(True),
                feeds_tbl.c.disabled_reason.is_(None),
                or_(feeds_tbl.c.next_check_at.is_(None), feeds_tbl.c.next_check_at <= now),
            )
            .order_by(feeds_tbl.c.next_check_at, feeds_tbl.c.id)
            .limit(limit)
        )
        async with self._tx() as conn:
            return [_feed_state(row) for row in await conn.execute(query)]

    async def get_feed(self, url: str) -> FeedState | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(feeds_tbl).where(feeds_tbl.c.url == url))).first()
        return _feed_state(row) if row is not None else None

    async def list_feeds(self) -> list[FeedState]:
        async with self._tx() as conn:
            return [
                _feed_state(row) for row in await conn.execute(select(feeds_tbl).order_by("id"))
            ]

    async def save_feed_state(self, state: FeedState) -> None:
        values: dict[str, Any] = {name: getattr(state, name) for name in _FEED_STATE_FIELDS}
        values["tags"] = json.dumps(list(state.tags))
        now = _wall_now()
        async with self._tx() as conn:
            result = await conn.execute(
                update(feeds_tbl)
                .where(feeds_tbl.c.url == state.url)
                .values(updated_at=now, **values)
            )
            if result.rowcount == 0:
                await conn.execute(
                    feeds_tbl.insert().values(
                        url=state.url, created_at=now, updated_at=now, **values
                    )
                )

    # articles and matches ----------------------------------------------------------------
    async def ingest(
        self, article: Article, matches: Sequence[RuleMatch], now: datetime, *, alert: bool = True
    ) -> IngestResult:
        (result,) = await self.ingest_many([(article, matches)], now, alert=alert)
        return result

    async def ingest_many(
        self,
        items: Sequence[tuple[Article, Sequence[RuleMatch]]],
        now: datetime,
        *,
        alert: bool = True,
    ) -> list[IngestResult]:
        """``ingest`` for several articles (say, one poll's items) in ONE transaction: all are
        stored with their matches and deliveries, or none. Results are in order and the same
        as calling ``ingest`` for each; a batch costs a few statements, not a few per item."""
        async with self._tx() as conn:
            return await ingest_batch(conn, self._ingest_statements, items, now, alert)

    # chats and subscriptions -------------------------------------------------------------
    async def upsert_chat(self, chat: Chat) -> None:
        now = _wall_now()
        stmt = self._insert(chats).values(
            id=chat.id,
            type=chat.type,
            title=chat.title,
            language=chat.language,
            status="active" if chat.active else "blocked",
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[chats.c.id],
            set_={
                "type": stmt.excluded.type,
                "title": stmt.excluded.title,
                "language": stmt.excluded.language,
                # a migrated chat stays migrated: its id is dead on Telegram's side
                "status": case(
                    (chats.c.status == "migrated", literal("migrated")),
                    else_=stmt.excluded.status,
                ),
                "updated_at": now,
            },
        )
        async with self._tx() as conn:
            await conn.execute(stmt)

    async def get_chat(self, chat_id: int) -> Chat | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(chats).where(chats.c.id == chat_id))).first()
        if row is None:
            return None
        return Chat(
            id=row.id,
            type=ChatType.parse(row.type),
            title=row.title,
            language=row.language,
            active=row.status == "active",
            migrated_to=row.migrated_to,
        )

    async def _ensure_chat(self, conn: AsyncConnection, chat_id: int, **values: Any) -> None:
        now = _wall_now()
        await conn.execute(
            self._insert(chats)
            .values(id=chat_id, created_at=now, updated_at=now, **values)
            .on_conflict_do_nothing()
        )

    async def set_chat_active(self, chat_id: int, active: bool) -> None:
        status = "active" if active else "blocked"
        async with self._tx() as conn:
            await self._ensure_chat(conn, chat_id, status=status)
            await conn.execute(
                update(chats)
                .where(chats.c.id == chat_id, chats.c.status != "migrated")
                .values(status=status, updated_at=_wall_now())
            )

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        if old_chat_id == new_chat_id:
            return
        now = _wall_now()
        async with self._tx() as conn:
            old = (await conn.execute(select(chats).where(chats.c.id == old_chat_id))).first()
            await self._ensure_chat(
                conn,
                new_chat_id,
                type=ChatType.SUPERGROUP.value,
                title=old.title if old is not None else None,
                language=old.language if old is not None else None,
                status="active",
            )
            await self._ensure_chat(conn, old_chat_id)
            for sub in (
                await conn.execute(
                    select(subscriptions).where(subscriptions.c.chat_id == old_chat_id)
                )
            ).all():
                values = dict(sub._mapping)
                values["chat_id"] = new_chat_id
                await conn.execute(
                    self._insert(subscriptions).values(**values).on_conflict_do_nothing()
                )
            await conn.execute(
                sql_delete(subscriptions).where(subscriptions.c.chat_id == old_chat_id)
            )
            # Unsent alerts follow the chat, unless the new id already has one for the article.
            already = select(deliveries.c.article_id).where(deliveries.c.chat_id == new_chat_id)
            unsent = and_(
                deliveries.c.chat_id == old_chat_id, deliveries.c.state.in_(UNFINISHED_STATES)
            )
            await conn.execute(
                sql_delete(deliveries).where(unsent, deliveries.c.article_id.in_(already))
            )
            await conn.execute(
                update(deliveries)
                .where(unsent)
                .values(
                    chat_id=new_chat_id,
                    state=DeliveryState.PENDING.value,
                    sending_owner=None,
                    updated_at=now,
                )
            )
            await conn.execute(
                update(chats)
                .where(chats.c.id == old_chat_id)
                .values(status="migrated", migrated_to=new_chat_id, updated_at=now)
            )

    async def mute_chat(self, chat_id: int, until: datetime | None) -> None:
        async with self._tx() as conn:
            await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.chat_id == chat_id)
                .values(muted_until=until)
            )

    async def subscribe(self, chat_id: int, rule_id: str, thread_id: int | None = None) -> bool:
        async with self._tx() as conn:
            await self._ensure_chat(conn, chat_id)
            # A chat muted as a whole stays muted for the rules it adds meanwhile.
            muted_until = (
                await conn.execute(
                    select(func.max(subscriptions.c.muted_until)).where(
                        subscriptions.c.chat_id == chat_id
                    )
                )
            ).scalar_one_or_none()
            inserted = (
                await conn.execute(
                    self._insert(subscriptions)
                    .values(
                        chat_id=chat_id,
                        rule_id=rule_id,
                        mode=DeliveryMode.INSTANT.value,
                        thread_id=thread_id,
                        muted_until=muted_until,
                        created_at=_wall_now(),
                    )
                    .on_conflict_do_nothing()
                    .returning(subscriptions.c.rule_id)
                )
            ).scalar_one_or_none()
            if inserted is None and thread_id is not None:
                # subscribing again from another forum topic moves the alerts there
                await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.chat_id == chat_id, subscriptions.c.rule_id == rule_id)
                    .values(thread_id=thread_id)
                )
        return inserted is not None

    async def unsubscribe(self, chat_id: int, rule_id: str) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(
                sql_delete(subscriptions).where(
                    subscriptions.c.chat_id == chat_id, subscriptions.c.rule_id == rule_id
                )
            )
        return bool(result.rowcount)

    async def subscriptions(self, chat_id: int) -> list[str]:
        async with self._tx() as conn:
            rows = await conn.execute(
                select(subscriptions.c.rule_id)
                .where(subscriptions.c.chat_id == chat_id)
                .order_by(subscriptions.c.rule_id)
            )
            return list(rows.scalars())

    async def subscribed_rule_ids(self) -> list[str]:
        async with self._tx() as conn:
            rows = await conn.execute(
                select(subscriptions.c.rule_id).distinct().order_by(subscriptions.c.rule_id)
            )
            return list(rows.scalars())

    async def set_subscription_mode(
        self,
        chat_id: int,
        rule_id: str,
        mode: DeliveryMode,
        digest_schedule: str | None = None,
        *,
        now: datetime | None = None,
    ) -> bool:
        mode = DeliveryMode(mode)
        schedule = digest_schedule if mode is DeliveryMode.DIGEST else None
        sent_at: Any = None
        if mode is DeliveryMode.DIGEST:
            started = literal(now or _wall_now(), UtcDateTime())
            sent_at = case(
                (
                    subscriptions.c.mode == DeliveryMode.DIGEST.value,
                    func.coalesce(subscriptions.c.digest_sent_at, started),
                ),
                else_=started,
            )
        async with self._tx() as conn:
            result = await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.chat_id == chat_id, subscriptions.c.rule_id == rule_id)
                .values(mode=mode.value, digest_schedule=schedule, digest_sent_at=sent_at)
            )
        return bool(result.rowcount)

    async def digest_subscriptions(self) -> list[Subscription]:
        query = (
            select(subscriptions)
            .join(chats, chats.c.id == subscriptions.c.chat_id)
            .where(
                subscriptions.c.mode == DeliveryMode.DIGEST.value,
                chats.c.status == "active",
            )
            .order_by(subscriptions.c.chat_id, subscriptions.c.rule_id)
        )
        async with self._tx() as conn:
            return [_subscription(row) for row in await conn.execute(query)]

    async def mark_digest_sent(
        self, chat_id: int, rule_ids: Sequence[str], sent_at: datetime
    ) -> None:
        if not rule_ids:
            return
        mark = sent_at.astimezone(UTC)
        async with self._tx() as conn:
            await conn.execute(
                update(subscriptions)
                .where(
                    subscriptions.c.chat_id == chat_id,
                    subscriptions.c.rule_id.in_(list(rule_ids)),
                    subscriptions.c.mode == DeliveryMode.DIGEST.value,
                    or_(
                        subscriptions.c.digest_sent_at.is_(None),
                        subscriptions.c.digest_sent_at < mark,
                    ),
                )
                .values(digest_sent_at=mark)
            )

    async def subscription_details(self, chat_id: int) -> list[Subscription]:
        async with self._tx() as conn:
            rows = await conn.execute(
                select(subscriptions)
                .where(subscriptions.c.chat_id == chat_id)
                .order_by(subscriptions.c.rule_id)
            )
            return [_subscription(row) for row in rows]

    # outbox ------------------------------------------------------------------------------
    async def due_deliveries(self, now: datetime, limit: int = 50) -> list[Delivery]:
        """Pending rows whose next attempt has come, and "sending" rows this process does not
        have in flight (left by a crashed predecessor: the policy is to resend them, see
        docs/storage.md), oldest first. Rows of inactive chats wait."""
        abandoned = and_(
            deliveries.c.state == DeliveryState.SENDING.value,
            or_(
                deliveries.c.sending_owner.is_(None),
                deliveries.c.sending_owner != self._owner,
                deliveries.c.sending_at <= now - SENDING_LEASE,
            ),
        )
        due = and_(
            deliveries.c.state == DeliveryState.PENDING.value, deliveries.c.next_attempt_at <= now
        )
        query = (
            select(deliveries)
            .join(chats, chats.c.id == deliveries.c.chat_id)
            .where(chats.c.status == "active", or_(due, abandoned))
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                return []
            article_ids = sorted({row.article_id for row in rows})
            by_id = {
                row.id: _article(row)
                for row in await conn.execute(
                    select(articles).where(articles.c.id.in_(article_ids))
                )
            }
            hits: dict[tuple[int, str], tuple[Hit, ...]] = {
                (row.article_id, row.rule_id): _hits_from_json(row.hits)
                for row in await conn.execute(
                    select(
                        matches_tbl.c.article_id, matches_tbl.c.rule_id, matches_tbl.c.hits
                    ).where(matches_tbl.c.article_id.in_(article_ids))
                )
            }
        return [
            Delivery(
                id=row.id,
                chat_id=row.chat_id,
                article=by_id[row.article_id],
                matches=tuple(
                    RuleMatch(rule_id, hits.get((row.article_id, rule_id), ()))
                    for rule_id in json.loads(row.rule_ids)
                ),
                thread_id=row.thread_id,
                attempts=row.attempts,
                state=DeliveryState(row.state),
                created_at=row.created_at,
                message_id=row.message_id,
                kind=DeliveryKind(row.kind),
            )
            for row in rows
        ]

    async def _set_delivery(self, delivery_id: int, **values: Any) -> None:
        async with self._tx() as conn:
            result = await conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
            )
        if result.rowcount == 0:
            raise StorageError(f"no delivery with id {delivery_id}")

    async def mark_sending(self, delivery_id: int, now: datetime) -> None:
        await self._set_delivery(
            delivery_id,
            state=DeliveryState.SENDING.value,
            attempts=deliveries.c.attempts + 1,
            sending_at=now,
            sending_owner=self._owner,
            updated_at=now,
        )

    async def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> None:
        await self._set_delivery(
            delivery_id,
            state=DeliveryState.SENT.value,
            sent_at=now,
            message_id=func.coalesce(message_id, deliveries.c.message_id)
            if message_id is None
            else message_id,
            sending_owner=None,
            last_error=None,
            updated_at=now,
        )

    async def mark_retry(
        self, delivery_id: int, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        await self._set_delivery(
            delivery_id,
            state="pending",
            next_attempt_at=next_attempt_at,
            last_error=error,
            sending_owner=None,
            updated_at=now,
        )

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> None:
        await self._set_delivery(
            delivery_id,
            state=DeliveryState.FAILED.value,
            last_error=error,
            sending_owner=None,
            updated_at=now,
        )

    async def pending_count(self, chat_id: int | None = None) -> int:
        query = select(func.count()).where(deliveries.c.state.in_(UNFINISHED_STATES))
        if chat_id is not None:
            query = query.where(deliveries.c.chat_id == chat_id)
        async with self._tx() as conn:
            return int((await conn.execute(query)).scalar_one())

    # queries -----------------------------------------------------------------------------
    def _stored_match_query(self) -> Any:
        return select(
            matches_tbl.c.id,
            matches_tbl.c.rule_id,
            matches_tbl.c.article_id,
            matches_tbl.c.title,
            matches_tbl.c.link,
            matches_tbl.c.feed_url,
            matches_tbl.c.matched_at,
            matches_tbl.c.published_at,
            matches_tbl.c.hits,
        )

    async def recent_matches(
        self, rule_id: str | None = None, chat_id: int | None = None, limit: int = 10
    ) -> list[StoredMatch]:
        query = self._stored_match_query()
        if rule_id is not None:
            query = query.where(matches_tbl.c.rule_id == rule_id)
        if chat_id is not None:
            query = query.where(
                matches_tbl.c.rule_id.in_(
                    select(subscriptions.c.rule_id).where(subscriptions.c.chat_id == chat_id)
                )
            )
        query = query.order_by(matches_tbl.c.matched_at.desc(), matches_tbl.c.id.desc()).limit(
            limit
        )
        async with self._tx() as conn:
            return [_stored_match(row) for row in await conn.execute(query)]

    async def due_digest_items(
        self,
        chat_id: int,
        rule_ids: Sequence[str],
        since: datetime,
        until: datetime | None = None,
    ) -> list[StoredMatch]:
        if not rule_ids:
            return []
        alerted = select(deliveries.c.article_id).where(deliveries.c.chat_id == chat_id)
        query = (
            self._stored_match_query()
            .where(
                matches_tbl.c.rule_id.in_(list(rule_ids)),
                matches_tbl.c.matched_at > since,
                or_(matches_tbl.c.article_id.is_(None), matches_tbl.c.article_id.not_in(alerted)),
            )
            .order_by(matches_tbl.c.matched_at, matches_tbl.c.id)
        )
        if until is not None:
            query = query.where(matches_tbl.c.matched_at <= until)
        async with self._tx() as conn:
            return [_stored_match(row) for row in await conn.execute(query)]

    async def search_articles(self, query: str, limit: int = 10) -> list[ArticleHit]:
        words = query_words(query)
        if not words or limit <= 0:
            return []
        columns: dict[str, Any] = {
            "id": Integer,
            "title": String,
            "link": String,
            "feed_url": String,
            "published_at": UtcDateTime,
            "summary": String,
            "content": String,
            "score": Float,
        }
        if self.dialect == "sqlite":
            # Each word quoted: user text is never FTS5 syntax. Adjacent terms mean AND.
            fts_query = " ".join('"' + w.replace('"', '""') + '"' for w in words)
            # The newest SEARCH_WINDOW matches come straight off the index in rowid order; only
            # they are scored. This bounds the cost of very common words (see docs/storage.md).
            sql = text(
                "SELECT a.id, a.title, a.link, a.feed_url, a.published_at, a.summary, a.content,"
                " c.score FROM ("
                "  SELECT rowid, -bm25(articles_fts, 10.0, 3.0, 1.0) AS score FROM articles_fts"
                "  WHERE articles_fts MATCH :q ORDER BY rowid DESC LIMIT :window"
                " ) c JOIN articles a ON a.id = c.rowid"
                " ORDER BY c.score DESC, a.id DESC LIMIT :limit"
            ).columns(**columns)
            params: dict[str, Any] = {"q": fts_query, "limit": limit, "window": SEARCH_WINDOW}
        else:
            sql = text(
                "SELECT a.id, a.title, a.link, a.feed_url, a.published_at, a.summary, a.content,"
                " ts_rank_cd(a.search_vector, c.q) AS score FROM ("
                "  SELECT a2.id, q FROM articles a2, plainto_tsquery('english', :q) q"
                "  WHERE a2.search_vector @@ q ORDER BY a2.id DESC LIMIT :window"
                " ) c JOIN articles a ON a.id = c.id"
                " ORDER BY score DESC, a.id DESC LIMIT :limit"
            ).columns(**columns)
            params = {"q": " ".join(words), "limit": limit, "window": SEARCH_WINDOW}
        async with self._tx() as conn:
            rows = (await conn.execute(sql, params)).all()
        return [
            ArticleHit(
                article_id=row.id,
                title=row.title,
                link=row.link,
                feed_url=row.feed_url,
                published_at=row.published_at,
                snippet=snippet(row.summary or row.content or row.title, words),
                score=float(row.score),
            )
            for row in rows
        ]

    async def match_counts_per_day(self, since: datetime) -> list[tuple[str, date, int]]:
        day: ColumnElement[Any]
        if self.dialect == "sqlite":
            day = func.substr(matches_tbl.c.matched_at, 1, 10)  # stored as UTC "YYYY-MM-DD ..."
        else:
            day = cast(func.timezone("UTC", matches_tbl.c.matched_at), Date)
        query = (
            select(matches_tbl.c.rule_id, day.label("day"), func.count().label("n"))
            .where(matches_tbl.c.matched_at >= since)
            .group_by(matches_tbl.c.rule_id, day)
            .order_by(matches_tbl.c.rule_id, day)
        )
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return [
            (
                row.rule_id,
                row.day if isinstance(row.day, date) else date.fromisoformat(row.day),
                row.n,
            )
            for row in rows
        ]

    async def export_matches(
        self,
        out: TextIO,
        fmt: ExportFormat,
        start: datetime | None = None,
        end: datetime | None = None,
        rule_ids: Sequence[str] | None = None,
    ) -> int:
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"export format must be csv or jsonl, not {fmt!r}")
        writer = csv.writer(out) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(EXPORT_COLUMNS)
        written, last_id, page = 0, 0, 1000
        while True:
            query = self._stored_match_query().where(matches_tbl.c.id > last_id)
            if start is not None:
                query = query.where(matches_tbl.c.matched_at >= start)
            if end is not None:
                query = query.where(matches_tbl.c.matched_at < end)
            if rule_ids is not None:
                query = query.where(matches_tbl.c.rule_id.in_(list(rule_ids)))
            async with self._tx() as conn:
                rows = (await conn.execute(query.order_by(matches_tbl.c.id).limit(page))).all()
            for row in rows:
                record = _export_record(row)
                if writer is not None:
                    writer.writerow(
                        [
                            record[c] if c != "hits" else json.dumps(record[c])
                            for c in EXPORT_COLUMNS
                        ]
                    )
                else:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
            if len(rows) < page:
                return written
            last_id = rows[-1].id

    async def iter_articles(
        self, batch: int = 500
    ) -> AsyncIterator[tuple[Article, tuple[str, ...]]]:
        """Pages by id with a fresh transaction per page, so no connection or lock is held
        while the caller works on a page (the caller may use this storage meanwhile)."""
        last_id = 0
        while True:
            async with self._tx() as conn:
                rows = (
                    await conn.execute(
                        select(articles)
                        .where(articles.c.id > last_id)
                        .order_by(articles.c.id)
                        .limit(batch)
                    )
                ).all()
                rules: dict[int, list[str]] = {}
                if rows:
                    for article_id, rule_id in await conn.execute(
                        select(matches_tbl.c.article_id, matches_tbl.c.rule_id)
                        .where(matches_tbl.c.article_id.in_([r.id for r in rows]))
                        .order_by(matches_tbl.c.rule_id)
                    ):
                        rules.setdefault(article_id, []).append(rule_id)
            for row in rows:
                yield _article(row), tuple(rules.get(row.id, ()))
            if len(rows) < batch:
                return
            last_id = rows[-1].id

    # retention ---------------------------------------------------------------------------
    async def prune(self, now: datetime, retention_days: int = 90, batch: int = 500) -> int:
        cutoff = now - timedelta(days=retention_days)
        unsent = select(deliveries.c.id).where(
            deliveries.c.article_id == articles.c.id, deliveries.c.state.in_(UNFINISHED_STATES)
        )
        deleted = 0
        while True:
            async with self._tx() as conn:
                ids = list(
                    (
                        await conn.execute(
                            select(articles.c.id)
                            .where(articles.c.first_seen_at < cutoff, ~unsent.exists())
                            .order_by(articles.c.id)
                            .limit(batch)
                        )
                    ).scalars()
                )
                if ids:
                    await conn.execute(sql_delete(articles).where(articles.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < batch:
                return deleted

    async def prune_matches(self, now: datetime, retention_days: int, batch: int = 500) -> int:
        """Delete matches older than ``retention_days`` in batches; returns matches deleted.

        Matches are also the memory of "already alerted" for articles pruned earlier: an item
        that reappears in a feed after its match is gone alerts again. Keep this period longer
        than any feed keeps items.
        """
        cutoff = now - timedelta(days=retention_days)
        deleted = 0
        while True:
            async with self._tx() as conn:
                ids = list(
                    (
                        await conn.execute(
                            select(matches_tbl.c.id)
                            .where(matches_tbl.c.matched_at < cutoff)
                            .order_by(matches_tbl.c.id)
                            .limit(batch)
                        )
                    ).scalars()
                )
                if ids:
                    await conn.execute(sql_delete(matches_tbl).where(matches_tbl.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < batch:
                return deleted


def create_engine(url: str) -> AsyncEngine:
    """An async engine set up for newswatch: SQLite in WAL mode with a busy timeout, foreign
    keys on and real (IMMEDIATE) transactions; PostgreSQL with connection health checks."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_pre_ping=True)
    database = parsed.database
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    if not database or database == ":memory:":
        # One in-memory database lives in one connection: share it (tests, throwaway runs).
        engine = create_async_engine(parsed, connect_args=connect_args, poolclass=StaticPool)
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args=connect_args)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver (SQLAlchemy's documented recipe), so BEGIN
        # is ours: IMMEDIATE takes the write lock up front, and waits on the busy timeout
        # instead of failing when two connections read and then write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes in WAL mode
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # pages of the FTS index
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _feed_state(row: Any) -> FeedState:
    values = {name: getattr(row, name) for name in _FEED_STATE_FIELDS}
    return FeedState(url=row.url, tags=tuple(json.loads(row.tags or "[]")), **values)


def _article(row: Any) -> Article:
    return Article(
        feed_url=row.feed_url,
        identity=row.identity,
        title=row.title,
        link=row.link,
        summary=row.summary,
        content=row.content,
        author=row.author,
        published_at=row.published_at,
        guid=row.guid,
        link_key=row.link_key,
        feed_name=row.feed_name,
    )


def _stored_match(row: Any) -> StoredMatch:
    return StoredMatch(
        rule_id=row.rule_id,
        article_id=row.article_id,
        title=row.title,
        link=row.link,
        feed_url=row.feed_url,
        matched_at=row.matched_at,
        published_at=row.published_at,
        hits=_hits_from_json(row.hits),
    )


def _subscription(row: Any) -> Subscription:
    return Subscription(
        chat_id=row.chat_id,
        rule_id=row.rule_id,
        mode=DeliveryMode(row.mode),
        digest_schedule=row.digest_schedule,
        thread_id=row.thread_id,
        muted_until=row.muted_until,
        digest_sent_at=row.digest_sent_at,
    )


def _export_record(row: Any) -> dict[str, Any]:
    return {
        "matched_at": row.matched_at.isoformat(),
        "rule_id": row.rule_id,
        "article_id": row.article_id,
        "title": row.title,
        "link": row.link,
        "feed_url": row.feed_url,
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "hits": json.loads(row.hits or "[]"),
    }
