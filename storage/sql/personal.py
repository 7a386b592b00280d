"""Self-service (#16): personal rules saved from the chat, one rule's mute and "not relevant"
feedback; which alert a button is under (``alert_ref``); a chat's /settings.

Personal rules are numbered per chat; the next number is taken and the chat's limit checked in the
same transaction as the insert, and the (chat, number) primary key and the unique stored ``rule_id``
settle a race between two saves. A rule's id is given at that insert and never changed
(``migrate_chat`` moves the row to the new chat id and keeps it). A rule's mute is the
subscription's ``muted_until`` (which ingest already honours) plus the time it began in
``rule_mutes``, for the catch-up digest after an unmute. Compiles, matches and subscribes nothing:
``bot.personal_rules`` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import StorageError
from core.models import ChatSettings, Language, SnippetLength

from ..base import AlertRef, Feedback, PersonalRule, personal_rule_id
from ..schema import (
    articles,
    chat_settings,
    deliveries,
    personal_rule_numbers,
    personal_rules,
    rule_feedback,
    rule_mutes,
    subscriptions,
)
from .engine import SqlEngine


def _personal(row: Any) -> PersonalRule:
    return PersonalRule(
        chat_id=row.chat_id,
        number=row.number,
        name=row.name,
        query=row.query,
        paused=bool(row.paused),
        created_by=row.created_by,
        created_at=row.created_at,
        rule_id=row.rule_id,
    )


def _feedback(row: Any) -> Feedback:
    return Feedback(
        chat_id=row.chat_id,
        rule_id=row.rule_id,
        article_identity=row.article_identity,
        title=row.title,
        link=row.link,
        user_id=row.user_id,
        created_at=row.created_at,
    )


class PersonalStorage(SqlEngine):
    """The self-service part of ``SqlStorage``."""

    async def add_personal_rule(
        self,
        chat_id: int,
        name: str,
        query: str,
        *,
        limit: int,
        created_by: int | None,
        now: datetime,
    ) -> PersonalRule | None:
        # A concurrent save took the number: take the next one. Each round one of the racing
        # saves wins, so ten rounds settle ten saves at once for one chat.
        for _attempt in range(10):
            try:
                async with self._tx() as conn:
                    count, highest = (
                        await conn.execute(
                            select(
                                func.count(), func.coalesce(func.max(personal_rules.c.number), 0)
                            ).where(personal_rules.c.chat_id == chat_id)
                        )
                    ).one()
                    if count >= limit:
                        return None
                    given = (
                        await conn.execute(
                            select(personal_rule_numbers.c.highest).where(
                                personal_rule_numbers.c.chat_id == chat_id
                            )
                        )
                    ).scalar_one_or_none()
                    number = max(highest, given or 0) + 1
                    # Never given again, even once this rule is deleted (its id would inherit
                    # the stored matches and marks).
                    await conn.execute(
                        self._insert(personal_rule_numbers)
                        .values(chat_id=chat_id, highest=number)
                        .on_conflict_do_update(index_elements=["chat_id"], set_={"highest": number})
                    )
                    row = (
                        await conn.execute(
                            personal_rules.insert()
                            .values(
                                chat_id=chat_id,
                                number=number,
                                rule_id=personal_rule_id(chat_id, number),
                                name=name,
                                query=query,
                                paused=False,
                                created_by=created_by,
                                created_at=now,
                                updated_at=now,
                            )
                            .returning(*personal_rules.c)
                        )
                    ).one()
                    return _personal(row)
            except StorageError as e:
                if not isinstance(e.__cause__, IntegrityError):
                    raise
        raise StorageError("could not number the personal rule: too many saves at once")

    async def personal_rules(self, chat_id: int | None = None) -> list[PersonalRule]:
        stmt = select(personal_rules).order_by(personal_rules.c.chat_id, personal_rules.c.number)
        if chat_id is not None:
            stmt = stmt.where(personal_rules.c.chat_id == chat_id)
        async with self._tx() as conn:
            return [_personal(r) for r in await conn.execute(stmt)]

    async def personal_rule(self, rule_id: str) -> PersonalRule | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(personal_rules).where(personal_rules.c.rule_id == rule_id)
                )
            ).one_or_none()
        return _personal(row) if row is not None else None

    async def update_personal_rule(
        self,
        chat_id: int,
        number: int,
        *,
        query: str | None = None,
        name: str | None = None,
        paused: bool | None = None,
        now: datetime,
    ) -> PersonalRule | None:
        values: dict[str, Any] = {"updated_at": now}
        if query is not None:
            values["query"] = query
        if name is not None:
            values["name"] = name
        if paused is not None:
            values["paused"] = paused
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    update(personal_rules)
                    .where(personal_rules.c.chat_id == chat_id, personal_rules.c.number == number)
                    .values(**values)
                    .returning(*personal_rules.c)
                )
            ).one_or_none()
        return _personal(row) if row is not None else None

    async def delete_personal_rule(self, chat_id: int, number: int) -> PersonalRule | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    delete(personal_rules)
                    .where(personal_rules.c.chat_id == chat_id, personal_rules.c.number == number)
                    .returning(*personal_rules.c)
                )
            ).one_or_none()
        return _personal(row) if row is not None else None

    async def mute_rule(
        self, chat_id: int, rule_id: str, until: datetime | None, now: datetime
    ) -> bool:
        # "Off" has no end: a far date keeps ingest's one test (muted_until > now) unchanged.
        end = until if until is not None else datetime(9999, 1, 1, tzinfo=now.tzinfo)
        async with self._tx() as conn:
            result = await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.chat_id == chat_id, subscriptions.c.rule_id == rule_id)
                .values(muted_until=end)
            )
            if not result.rowcount:
                return False
            await conn.execute(
                self._insert(rule_mutes)
                .values(chat_id=chat_id, rule_id=rule_id, muted_at=now)
                .on_conflict_do_nothing()
            )
        return True

    async def unmute_rule(self, chat_id: int, rule_id: str) -> datetime | None:
        async with self._tx() as conn:
            began = (
                await conn.execute(
                    delete(rule_mutes)
                    .where(rule_mutes.c.chat_id == chat_id, rule_mutes.c.rule_id == rule_id)
                    .returning(rule_mutes.c.muted_at)
                )
            ).scalar_one_or_none()
            if began is not None:
                await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.chat_id == chat_id, subscriptions.c.rule_id == rule_id)
                    .values(muted_until=None)
                )
        return began

    async def expired_rule_mutes(self, now: datetime) -> list[tuple[int, str]]:
        stmt = (
            select(rule_mutes.c.chat_id, rule_mutes.c.rule_id)
            .select_from(
                rule_mutes.outerjoin(
                    subscriptions,
                    (subscriptions.c.chat_id == rule_mutes.c.chat_id)
                    & (subscriptions.c.rule_id == rule_mutes.c.rule_id),
                )
            )
            .where(
                (subscriptions.c.rule_id.is_(None))
                | subscriptions.c.muted_until.is_(None)
                | (subscriptions.c.muted_until <= now)
            )
            .order_by(rule_mutes.c.muted_at)
        )
        async with self._tx() as conn:
            return [(row.chat_id, row.rule_id) for row in await conn.execute(stmt)]

    async def add_feedback(self, feedback: Feedback) -> bool:
        async with self._tx() as conn:
            known = (
                await conn.execute(
                    select(rule_feedback.c.id).where(
                        rule_feedback.c.chat_id == feedback.chat_id,
                        rule_feedback.c.rule_id == feedback.rule_id,
                        rule_feedback.c.article_identity == feedback.article_identity,
                    )
                )
            ).first()
            if known is not None:
                return False
            await conn.execute(
                rule_feedback.insert().values(
                    chat_id=feedback.chat_id,
                    rule_id=feedback.rule_id,
                    article_identity=feedback.article_identity,
                    title=feedback.title,
                    link=feedback.link,
                    user_id=feedback.user_id,
                    created_at=feedback.created_at,
                )
            )
        return True

    async def feedback(self, rule_ids: Sequence[str] | None = None) -> list[Feedback]:
        stmt = select(rule_feedback).order_by(
            rule_feedback.c.created_at.desc(), rule_feedback.c.id.desc()
        )
        if rule_ids is not None:
            stmt = stmt.where(rule_feedback.c.rule_id.in_(list(rule_ids)))
        async with self._tx() as conn:
            return [_feedback(r) for r in await conn.execute(stmt)]

    async def alert_ref(self, delivery_id: int) -> AlertRef | None:
        stmt = (
            select(
                deliveries.c.id,
                deliveries.c.chat_id,
                deliveries.c.thread_id,
                deliveries.c.rule_ids,
                articles.c.identity,
                articles.c.title,
                articles.c.link,
            )
            .join(articles, articles.c.id == deliveries.c.article_id)
            .where(deliveries.c.id == delivery_id)
        )
        async with self._tx() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        if row is None:
            return None
        return AlertRef(
            delivery_id=row.id,
            chat_id=row.chat_id,
            thread_id=row.thread_id,
            rule_ids=tuple(json.loads(row.rule_ids)),
            article_identity=row.identity,
            title=row.title,
            link=row.link,
        )

    async def chat_settings(self) -> dict[int, ChatSettings]:
        async with self._tx() as conn:
            rows = list(await conn.execute(select(chat_settings)))
        return {
            row.chat_id: ChatSettings(
                timezone=row.timezone,
                link_preview=row.link_preview,
                snippet=SnippetLength(row.snippet) if row.snippet else None,
                language=Language(row.language) if row.language else None,
                digest_days=(
                    tuple(int(d) for d in row.digest_days.split(",") if d)
                    if row.digest_days is not None
                    else None
                ),
            )
            for row in rows
        }

    async def save_chat_settings(self, chat_id: int, settings: ChatSettings, now: datetime) -> None:
        async with self._tx() as conn:
            await conn.execute(delete(chat_settings).where(chat_settings.c.chat_id == chat_id))
            if settings == ChatSettings():
                return
            days = settings.digest_days
            await conn.execute(
                chat_settings.insert().values(
                    chat_id=chat_id,
                    timezone=settings.timezone,
                    link_preview=settings.link_preview,
                    snippet=settings.snippet.value if settings.snippet else None,
                    language=settings.language.value if settings.language else None,
                    digest_days=",".join(str(d) for d in days) if days is not None else None,
                    updated_at=now,
                )
            )
