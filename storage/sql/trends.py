"""Trend opt-ins and trend alerts (``storage.trends.TrendWatches``) over SQLAlchemy Core.

A trend alert is an outbox row of kind ``trend`` whose ``payload`` is JSON: the caption as the
row's one page and the chart as base64 PNG. Text, because both databases store it the same way
and the ``payload`` column already exists; the chart is drawn once per spike when it is judged,
so a retry resends the very picture that was judged (not one redrawn from later data) and the
outbox sender needs neither storage queries nor matplotlib to send it. The price is a copy of
the chart (~30-60 KB) per opted-in chat per spike, pruned with other finished rows.

Does not judge spikes, draw charts or send anything.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update

from core.models import DeliveryKind, DeliveryState, RenderedMessage

from ..schema import chats, deliveries, subscriptions, trend_watches
from ..trends import TrendWatch
from .engine import SqlEngine, wall_now


def trend_payload(caption: RenderedMessage, png: bytes) -> str:
    """The ``payload`` of a trend row: its caption page and its chart."""
    page = {"html": caption.html, "plain": caption.plain, "silent": caption.disable_notification}
    return json.dumps(
        {"pages": [page], "png": base64.b64encode(png).decode("ascii")}, ensure_ascii=False
    )


def image_from_payload(payload: str | None) -> bytes | None:
    """A trend row's chart; None for every other row (their payload is a list or NULL)."""
    if not payload or not payload.startswith("{"):
        return None
    data = json.loads(payload)
    png = data.get("png") if isinstance(data, dict) else None
    return base64.b64decode(png) if isinstance(png, str) else None


def _watch(row: Any) -> TrendWatch:
    return TrendWatch(row.chat_id, row.rule_id, row.thread_id, row.last_spike_at)


class TrendStorage(SqlEngine):
    """The trend alerts part of ``SqlStorage``."""

    async def set_trend_watch(
        self, chat_id: int, rule_id: str, on: bool, now: datetime, thread_id: int | None = None
    ) -> bool:
        async with self._tx() as conn:
            if not on:
                result = await conn.execute(
                    delete(trend_watches).where(
                        trend_watches.c.chat_id == chat_id, trend_watches.c.rule_id == rule_id
                    )
                )
                return bool(result.rowcount)
            # The chat is known once it subscribed; a chat row is made here only for a
            # caller that opts in first (the opt-in then waits for the subscription).
            wall = wall_now()
            await conn.execute(
                self._insert(chats)
                .values(id=chat_id, created_at=wall, updated_at=wall)
                .on_conflict_do_nothing()
            )
            result = await conn.execute(
                self._insert(trend_watches)
                .values(chat_id=chat_id, rule_id=rule_id, thread_id=thread_id, created_at=now)
                .on_conflict_do_nothing()
            )
            return bool(result.rowcount)

    async def trend_watches(self, chat_id: int | None = None) -> list[TrendWatch]:
        query = select(trend_watches).order_by(trend_watches.c.chat_id, trend_watches.c.rule_id)
        if chat_id is not None:
            query = query.where(trend_watches.c.chat_id == chat_id)
        async with self._tx() as conn:
            return [_watch(row) for row in await conn.execute(query)]

    async def spike_watchers(self, rule_id: str, now: datetime) -> list[TrendWatch]:
        query = (
            select(trend_watches)
            .join(chats, chats.c.id == trend_watches.c.chat_id)
            .join(
                subscriptions,
                and_(
                    subscriptions.c.chat_id == trend_watches.c.chat_id,
                    subscriptions.c.rule_id == trend_watches.c.rule_id,
                ),
            )
            .where(
                trend_watches.c.rule_id == rule_id,
                chats.c.status == "active",
                or_(subscriptions.c.muted_until.is_(None), subscriptions.c.muted_until <= now),
            )
            .order_by(trend_watches.c.chat_id)
        )
        async with self._tx() as conn:
            return [_watch(row) for row in await conn.execute(query)]

    async def queue_trend(
        self,
        watches: Sequence[TrendWatch],
        spike_at: datetime,
        caption: RenderedMessage,
        png: bytes,
        now: datetime,
    ) -> int:
        if not watches:
            return 0
        payload = trend_payload(caption, png)
        queued = 0
        async with self._tx() as conn:
            for watch in watches:
                # The mark decides: only the first call for this spike changes the row, so a
                # second check (or a second process) queues nothing.
                marked = await conn.execute(
                    update(trend_watches)
                    .where(
                        trend_watches.c.chat_id == watch.chat_id,
                        trend_watches.c.rule_id == watch.rule_id,
                        or_(
                            trend_watches.c.last_spike_at.is_(None),
                            trend_watches.c.last_spike_at != spike_at,
                        ),
                    )
                    .values(last_spike_at=spike_at)
                )
                if not marked.rowcount:
                    continue
                await conn.execute(
                    insert(deliveries).values(
                        chat_id=watch.chat_id,
                        article_id=None,
                        rule_ids=json.dumps([watch.rule_id]),
                        thread_id=watch.thread_id,
                        kind=DeliveryKind.TREND.value,
                        state=DeliveryState.PENDING.value,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                        payload=payload,
                    )
                )
                queued += 1
        return queued
