"""Trend alerts: ``trend_watches``, a chat's opt-in to one rule's spike alerts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

One row per chat and rule (``/trend RULE on``; ``/trend RULE off`` deletes it), with the forum
topic it was asked in and ``last_spike_at``, the first hour of the last spike the chat was
alerted about: a spike that lasts several hours is alerted once. The trend alert itself is an
outbox row of kind ``trend`` whose ``payload`` holds its caption and chart, so ``deliveries``
needs no new column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trend_watches",
        sa.Column(
            "chat_id",
            sa.BigInteger,
            sa.ForeignKey("chats.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("rule_id", sa.Text, primary_key=True),
        sa.Column("thread_id", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_spike_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE kind = 'trend'")
    op.drop_table("trend_watches")
