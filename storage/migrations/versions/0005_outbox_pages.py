"""The outbox carries every message: digests and admin notices become delivery rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``article_id`` may be NULL: a ``digest`` or ``notice`` row has no article. ``payload`` holds such
a row's rendered pages (a JSON list of ``{"html", "plain", "silent"}``); NULL for alerts, which
are rendered when they are sent. ``kind`` gains the values ``digest`` and ``notice``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("article_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("payload", sa.Text))


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE article_id IS NULL")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("payload")
        batch.alter_column("article_id", existing_type=sa.Integer, nullable=False)
