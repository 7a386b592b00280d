"""A deleted personal rule's number is never given again (#16).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01

``personal_rule_numbers``: per chat, the highest number a personal rule of it was ever given.
Numbers came from the chat's highest rule in force, so deleting the highest rule gave its number,
and with it its id (``u<chat>-<number>``), to the next rule saved: the new rule inherited the
old one's stored matches (trends, search by rule, exports) and "not relevant" marks. Filled from
every id of the form ``u<chat>-<number>`` stored anywhere (the rules, subscriptions, mutes,
marks, trend watches and matches: one pass over ``matches.rule_id`` at upgrade), so the numbers
deleted before this migration are not given again either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_PERSONAL_ID = re.compile(r"u(-?\d+)-(\d+)$")  # rules.PERSONAL_ID_RE, as of this revision
_TABLES = ("subscriptions", "rule_mutes", "rule_feedback", "trend_watches", "matches")


def _highest(ids: Iterable[str], into: dict[int, int]) -> None:
    for rule_id in ids:
        m = _PERSONAL_ID.match(rule_id)
        if m is not None:
            chat, number = int(m.group(1)), int(m.group(2))
            into[chat] = max(into.get(chat, 0), number)


def upgrade() -> None:
    table = op.create_table(
        "personal_rule_numbers",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("highest", sa.Integer, nullable=False),
    )
    bind = op.get_bind()
    highest: dict[int, int] = {}
    for chat, number in bind.execute(
        sa.text('SELECT chat_id, max("number") FROM personal_rules GROUP BY chat_id')
    ):
        highest[int(chat)] = max(highest.get(int(chat), 0), int(number))
    _highest(bind.execute(sa.text("SELECT rule_id FROM personal_rules")).scalars(), highest)
    for name in _TABLES:
        ids = bind.execute(sa.text(f"SELECT DISTINCT rule_id FROM {name} WHERE rule_id LIKE 'u%'"))
        _highest(ids.scalars(), highest)
    if highest:
        op.bulk_insert(table, [{"chat_id": c, "highest": n} for c, n in sorted(highest.items())])


def downgrade() -> None:
    op.drop_table("personal_rule_numbers")
