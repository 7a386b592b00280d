"""Feeds remember a permanent redirect and when their current failure began.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

``redirected_to``: where a 301/308 chain moved the feed (polls use it; ``url`` stays the key).
``failing_since``: the first error after the last success, so "failing for a day" is reported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)  # as in 0001: storage.schema.UtcDateTime maps onto it


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("redirected_to", sa.Text))
        batch.add_column(sa.Column("failing_since", TS))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("failing_since")
        batch.drop_column("redirected_to")
