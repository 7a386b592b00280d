"""Chats and subscriptions: chat records (upsert, active/blocked, migration to a new id),
subscribing and unsubscribing, mute, delivery mode, and digests' subscription state (which
subscriptions are digests, when each digest was last sent).

``migrate_chat`` also moves the chat's unsent deliveries, settings, "not relevant" marks and
personal rules, because a migration must move them in the same transaction as the subscriptions.
Does not queue, send or read deliveries (``outbox``) nor pick a digest's matches
(``queries.due_digest_items``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from core.models import Chat, ChatType, DeliveryMode, DeliveryState

from ..base import Subscription
from ..schema import (
    MESSAGE_BOUND_KINDS,
    UNFINISHED_STATES,
    UtcDateTime,
    chat_settings,
    chats,
    deliveries,
    personal_rules,
    rule_feedback,
    rule_mutes,
    subscriptions,
    trend_watches,
)
from .engine import SqlEngine, wall_now


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


class ChatStorage(SqlEngine):
    """The chats-and-subscriptions part of ``SqlStorage``."""

    async def upsert_chat(self, chat: Chat) -> None:
        now = wall_now()
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
        now = wall_now()
        await conn.execute(
            self._insert(chats)
            .values(id=chat_id, created_at=now, updated_at=now, **values)
            .on_conflict_do_nothing()
        )

    async def set_chat_active(
        self, chat_id: int, active: bool, *, now: datetime | None = None
    ) -> None:
        status = "active" if active else "blocked"
        values: dict[str, Any] = {"status": status, "updated_at": wall_now()}
        if not active:
            # The first moment it went away (``now``, the app's clock, as matches are stamped),
            # kept while it stays away: the catch-up digest at its return covers the matches
            # made since (``returned_chats``).
            values["blocked_at"] = func.coalesce(chats.c.blocked_at, now or wall_now())
        async with self._tx() as conn:
            await self._ensure_chat(conn, chat_id, status=status)
            await conn.execute(
                update(chats)
                .where(chats.c.id == chat_id, chats.c.status != "migrated")
                .values(**values)
            )

    async def returned_chats(self) -> list[tuple[int, datetime]]:
        """Chats that are active again after being away (blocked, kicked) and have had no
        catch-up digest yet: ``(chat id, away since)``, oldest first."""
        query = (
            select(chats.c.id, chats.c.blocked_at)
            .where(chats.c.status == "active", chats.c.blocked_at.is_not(None))
            .order_by(chats.c.blocked_at)
        )
        async with self._tx() as conn:
            return [(int(row.id), row.blocked_at) for row in await conn.execute(query)]

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        if old_chat_id == new_chat_id:
            return
        now = wall_now()
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
            await _move_personal_rules(conn, old_chat_id, new_chat_id)
            await _move_feedback(conn, old_chat_id, new_chat_id)
            # The chat's choices follow it too: /settings, rule mutes, trend opt-ins (a row the
            # new id already has wins).
            for table in (chat_settings, rule_mutes, trend_watches):
                for row in (
                    await conn.execute(select(table).where(table.c.chat_id == old_chat_id))
                ).all():
                    values = dict(row._mapping) | {"chat_id": new_chat_id}
                    await conn.execute(
                        self._insert(table).values(**values).on_conflict_do_nothing()
                    )
                await conn.execute(sql_delete(table).where(table.c.chat_id == old_chat_id))
            # Unsent alerts follow the chat, unless the new id already has one for the article.
            already = select(deliveries.c.article_id).where(deliveries.c.chat_id == new_chat_id)
            unsent = and_(
                deliveries.c.chat_id == old_chat_id, deliveries.c.state.in_(UNFINISHED_STATES)
            )
            # Except an edit of, or a reply to, a message of the old chat: its message id means
            # nothing in the new one (moved, it edited whichever message had that id there).
            await conn.execute(
                update(deliveries)
                .where(unsent, deliveries.c.kind.in_(MESSAGE_BOUND_KINDS))
                .values(
                    state=DeliveryState.CANCELLED.value,
                    sending_owner=None,
                    last_error="the group became a supergroup; its message is in the old chat",
                    updated_at=now,
                )
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
            # A chat muted as a whole stays muted for the rules it adds meanwhile; one rule's
            # own mute (rule_mutes, #16) is not the chat's and is not inherited.
            own_mute = (
                select(rule_mutes.c.rule_id)
                .where(
                    rule_mutes.c.chat_id == subscriptions.c.chat_id,
                    rule_mutes.c.rule_id == subscriptions.c.rule_id,
                )
                .exists()
            )
            muted_until = (
                await conn.execute(
                    select(func.max(subscriptions.c.muted_until)).where(
                        subscriptions.c.chat_id == chat_id, ~own_mute
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
                        created_at=wall_now(),
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
            started = literal(now or wall_now(), UtcDateTime())
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
        async with self._tx() as conn:
            await conn.execute(digest_mark_statement(chat_id, rule_ids, sent_at))

    async def subscription_details(self, chat_id: int) -> list[Subscription]:
        async with self._tx() as conn:
            rows = await conn.execute(
                select(subscriptions)
                .where(subscriptions.c.chat_id == chat_id)
                .order_by(subscriptions.c.rule_id)
            )
            return [_subscription(row) for row in rows]


async def _move_personal_rules(conn: AsyncConnection, old_chat_id: int, new_chat_id: int) -> None:
    """The old chat's personal rules become the new chat's, each keeping its ``rule_id``: the
    rule set in force on every replica, the matches, the queued alerts, mutes and feedback all
    name a rule by that id, so none of them changes, and a replica still compiling the rules it
    read before the migration queues their alerts for the new chat (their subscriptions moved
    with the same ids). A number the new chat already uses goes to the next free one after its
    highest."""
    moving = (
        await conn.execute(
            select(personal_rules.c.number)
            .where(personal_rules.c.chat_id == old_chat_id)
            .order_by(personal_rules.c.number)
        )
    ).scalars()
    taken = set(
        (
            await conn.execute(
                select(personal_rules.c.number).where(personal_rules.c.chat_id == new_chat_id)
            )
        ).scalars()
    )
    for number in list(moving):
        new_number = number if number not in taken else max(taken) + 1
        taken.add(new_number)
        await conn.execute(
            update(personal_rules)
            .where(personal_rules.c.chat_id == old_chat_id, personal_rules.c.number == number)
            .values(chat_id=new_chat_id, number=new_number)
        )


async def _move_feedback(conn: AsyncConnection, old_chat_id: int, new_chat_id: int) -> None:
    """The chat's "not relevant" marks become the new chat's (one per chat, rule and article: a
    mark the new id already has wins), so that its rules' marks, an old alert's "marked" state
    and the once-per-article check stay the chat's."""
    theirs = rule_feedback.alias("theirs")
    known = (
        select(theirs.c.id)
        .where(
            theirs.c.chat_id == new_chat_id,
            theirs.c.rule_id == rule_feedback.c.rule_id,
            theirs.c.article_identity == rule_feedback.c.article_identity,
        )
        .exists()
    )
    await conn.execute(
        sql_delete(rule_feedback).where(rule_feedback.c.chat_id == old_chat_id, known)
    )
    await conn.execute(
        update(rule_feedback)
        .where(rule_feedback.c.chat_id == old_chat_id)
        .values(chat_id=new_chat_id)
    )


def digest_mark_statement(chat_id: int, rule_ids: Sequence[str], sent_at: datetime) -> Update:
    """The update behind ``mark_digest_sent`` (also run by ``queue_digest``, in its own
    transaction): moves the digest mark of the chat's ``rule_ids`` forward to ``sent_at``,
    never backwards, and only for subscriptions in digest mode."""
    mark = sent_at.astimezone(UTC)
    return (
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
