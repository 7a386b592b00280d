"""The outbox: deliveries that are due, marking them sending/sent/retry/failed, and counting the
unsent ones. The at-least-once policy for a send interrupted by a crash (resend rows another
process left in "sending") lives in ``due_deliveries``; see docs/storage.md.

Alerts and edits are queued by ``storage.sql.ingest``; digests (``queue_digest``) and admin
notices (``queue_notice``) are queued here with their rendered pages. Rows are moved by
``chats.migrate_chat``. Does not
send anything, render alerts or decide retry delays: the outbox sender does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from core.errors import StorageError
from core.models import (
    ChatType,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Hit,
    RenderedMessage,
    RuleMatch,
)

from ..schema import MESSAGE_BOUND_KINDS, UNFINISHED_STATES, articles, chats, deliveries
from ..schema import matches as matches_tbl
from .articles import article_from_row, hits_from_json
from .chats import digest_mark_statement
from .engine import SqlEngine, wall_now
from .stories import load_sources
from .trends import image_from_payload

# A "sending" row owned by this very process is in flight and must not be handed out again;
# after this long it is treated as abandoned (a send that hung or an exception the sender lost).
SENDING_LEASE = timedelta(minutes=5)


class OutboxStorage(SqlEngine):
    """The outbox part of ``SqlStorage``."""

    async def due_deliveries(
        self, now: datetime, limit: int = 50, *, per_lane: int | None = None
    ) -> list[Delivery]:
        """Pending rows whose next attempt has come, and "sending" rows this process does not
        have in flight (left by a crashed predecessor: the policy is to resend them, see
        docs/storage.md), oldest first. Rows of blocked chats wait; a migrated chat's new
        messages are handed out (they exist only when queued concurrently with the migration,
        which could not see them: the send is answered "migrated" and the outcome policy moves
        them to the new id, ``migrate_chat`` again); its edits of and replies to the old chat's
        messages are not (``migrate_chat`` cancels them). ``per_lane``: at most that
        many rows of each (chat, topic), the oldest (a window function: SQLite >= 3.25 and
        PostgreSQL both have it), so a group's backlog of thousands leaves room in the batch
        for every other chat."""
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
        # A migrated chat's row that sends a new message (not an edit of, or a reply to, a
        # message of the old chat, whose ids mean nothing in the new one).
        follows = and_(
            chats.c.status == "migrated",
            deliveries.c.kind.not_in(MESSAGE_BOUND_KINDS),
        )
        eligible = and_(or_(chats.c.status == "active", follows), or_(due, abandoned))
        if per_lane is None:
            query = (
                select(deliveries)
                .join(chats, chats.c.id == deliveries.c.chat_id)
                .where(eligible)
                .order_by(deliveries.c.id)
                .limit(limit)
            )
        else:
            rank = (
                func.row_number()
                .over(
                    partition_by=(deliveries.c.chat_id, deliveries.c.thread_id),
                    order_by=deliveries.c.id,
                )
                .label("lane_rank")
            )
            ranked = (
                select(deliveries.c.id, rank)
                .join(chats, chats.c.id == deliveries.c.chat_id)
                .where(eligible)
                .subquery()
            )
            query = (
                select(deliveries)
                .join(ranked, ranked.c.id == deliveries.c.id)
                .where(ranked.c.lane_rank <= per_lane)
                .order_by(deliveries.c.id)
                .limit(limit)
            )
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                return []
            article_ids = sorted({row.article_id for row in rows if row.article_id is not None})
            by_id = {
                row.id: article_from_row(row)
                for row in await conn.execute(
                    select(articles).where(articles.c.id.in_(article_ids))
                )
            }
            hits: dict[tuple[int, str], tuple[Hit, ...]] = {
                (row.article_id, row.rule_id): hits_from_json(row.hits)
                for row in await conn.execute(
                    select(
                        matches_tbl.c.article_id, matches_tbl.c.rule_id, matches_tbl.c.hits
                    ).where(matches_tbl.c.article_id.in_(article_ids))
                )
            }
            sources = await load_sources(conn, rows)  # a story's alert lists its sources
        return [
            Delivery(
                id=row.id,
                chat_id=row.chat_id,
                article=by_id[row.article_id] if row.article_id is not None else None,
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
                pages=pages_from_json(row.payload),
                sources=sources.get(row.id, ()),
                image=image_from_payload(row.payload),
            )
            for row in rows
        ]

    async def queue_digest(
        self,
        chat_id: int,
        thread_id: int | None,
        rule_ids: Sequence[str],
        period_end: datetime,
        pages: Sequence[RenderedMessage],
        now: datetime,
    ) -> int:
        row = _page_row(chat_id, thread_id, DeliveryKind.DIGEST, rule_ids, pages, now)
        async with self._tx() as conn:
            result = await conn.execute(insert(deliveries).values(**row).returning(deliveries.c.id))
            delivery_id = int(result.scalar_one())
            await conn.execute(digest_mark_statement(chat_id, rule_ids, period_end))
        return delivery_id

    async def queue_catch_up(
        self,
        chat_id: int,
        away_since: datetime,
        digests: Sequence[tuple[int | None, Sequence[str], Sequence[RenderedMessage]]],
        now: datetime,
    ) -> bool:
        """Queue a returned chat's catch-up digests (one ``(topic, rule ids, pages)`` each, none
        when nothing matched while it was away) and mark it caught up, in one transaction.
        Only when the chat is still marked away since ``away_since`` (a compare-and-set): False,
        and nothing queued, when another run or process already did it, or the chat went away
        again meanwhile."""
        async with self._tx() as conn:
            result = await conn.execute(
                update(chats)
                .where(
                    chats.c.id == chat_id,
                    chats.c.status == "active",
                    chats.c.blocked_at == away_since,
                )
                .values(blocked_at=None)
            )
            if result.rowcount != 1:
                return False
            rows = [
                _page_row(chat_id, thread_id, DeliveryKind.DIGEST, rule_ids, pages, now)
                for thread_id, rule_ids, pages in digests
                if pages
            ]
            if rows:
                await conn.execute(insert(deliveries), rows)
        return True

    async def queue_notice(
        self, chat_ids: Sequence[int], pages: Sequence[RenderedMessage], now: datetime
    ) -> int:
        ids = sorted(set(chat_ids))
        if not ids or not pages:
            return 0
        wall = wall_now()
        async with self._tx() as conn:
            # An admin the bot never heard from still gets notices (private chat id = user
            # id); a known chat keeps its state (a blocked admin's notices wait).
            await conn.execute(
                self._insert(chats)
                .values(
                    [
                        {
                            "id": chat_id,
                            "type": ChatType.PRIVATE.value,
                            "status": "active",
                            "created_at": wall,
                            "updated_at": wall,
                        }
                        for chat_id in ids
                    ]
                )
                .on_conflict_do_nothing(index_elements=[chats.c.id])
            )
            await conn.execute(
                insert(deliveries),
                [_page_row(c, None, DeliveryKind.NOTICE, (), pages, now) for c in ids],
            )
        return len(ids)

    async def _move_delivery(self, delivery_id: int, expected: Any, **values: Any) -> bool:
        """Compare-and-set: change the row only while ``expected`` (a condition on its state)
        holds. False when it does not (another sender took the row over, or it is finished);
        ``StorageError`` when there is no such row."""
        async with self._tx() as conn:
            result = await conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id, expected).values(**values)
            )
            if result.rowcount == 1:
                return True
            exists = (
                await conn.execute(select(deliveries.c.id).where(deliveries.c.id == delivery_id))
            ).first()
        if exists is None:
            raise StorageError(f"no delivery with id {delivery_id}")
        return False

    def _ours_in_flight(self) -> Any:
        """The state every move after ``mark_sending`` expects: "sending", by this process."""
        return and_(
            deliveries.c.state == DeliveryState.SENDING.value,
            deliveries.c.sending_owner == self._owner,
        )

    async def mark_sending(self, delivery_id: int, now: datetime) -> bool:
        """Claim the row for a send: only a pending row, or a "sending" one abandoned by
        another owner (or by this one, past the lease), as ``due_deliveries`` hands out."""
        claimable = or_(
            deliveries.c.state == DeliveryState.PENDING.value,
            and_(
                deliveries.c.state == DeliveryState.SENDING.value,
                or_(
                    deliveries.c.sending_owner.is_(None),
                    deliveries.c.sending_owner != self._owner,
                    deliveries.c.sending_at <= now - SENDING_LEASE,
                ),
            ),
        )
        return await self._move_delivery(
            delivery_id,
            claimable,
            state=DeliveryState.SENDING.value,
            attempts=deliveries.c.attempts + 1,
            sending_at=now,
            sending_owner=self._owner,
            updated_at=now,
        )

    async def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> bool:
        return await self._move_delivery(
            delivery_id,
            self._ours_in_flight(),
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
    ) -> bool:
        return await self._move_delivery(
            delivery_id,
            self._ours_in_flight(),
            state=DeliveryState.PENDING.value,
            next_attempt_at=next_attempt_at,
            last_error=error,
            sending_owner=None,
            updated_at=now,
        )

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> bool:
        return await self._move_delivery(
            delivery_id,
            self._ours_in_flight(),
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


def pages_to_json(pages: Sequence[RenderedMessage]) -> str:
    return json.dumps(
        [{"html": p.html, "plain": p.plain, "silent": p.disable_notification} for p in pages],
        ensure_ascii=False,
    )


def pages_from_json(payload: str | None) -> tuple[RenderedMessage, ...]:
    """A digest's or notice's stored pages (a trend's caption); ``()`` for an alert."""
    if not payload:
        return ()
    data = json.loads(payload)
    if isinstance(data, dict):  # a trend row: {"pages": [...], "png": ...} (storage.sql.trends)
        data = data.get("pages", [])
    return tuple(RenderedMessage(str(p["html"]), str(p["plain"]), bool(p["silent"])) for p in data)


def _page_row(
    chat_id: int,
    thread_id: int | None,
    kind: DeliveryKind,
    rule_ids: Sequence[str],
    pages: Sequence[RenderedMessage],
    now: datetime,
) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "article_id": None,
        "rule_ids": json.dumps(sorted(rule_ids)),
        "thread_id": thread_id,
        "kind": kind.value,
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
        "payload": pages_to_json(pages),
    }
