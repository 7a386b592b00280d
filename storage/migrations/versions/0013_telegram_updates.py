"""Webhook mode (#12): the Telegram updates any replica accepted, for the sender to answer.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

``telegram_updates``: one row per ``update_id`` Telegram delivered to the webhook (its primary
key is what makes a repeated delivery a no-op), the update's JSON, when a replica accepted it
and when the sender took it to answer (NULL: not yet). A new table only: nothing existing is
touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("handled_at", TS),
    )
    op.create_index("ix_telegram_updates_handled", "telegram_updates", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_telegram_updates_handled", table_name="telegram_updates")
    op.drop_table("telegram_updates")
