"""Scheduled digests remember when each was last sent: ``subscriptions.digest_sent_at``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

``digest_sent_at`` is the end of the last period a subscription's digest covered (NULL for
instant subscriptions). Subscriptions already in digest mode start at the moment of the
upgrade: before this revision nothing sent digests, and starting earlier could repeat, as a
digest, matches whose instant alerts were already sent and pruned. Their earlier matches stay
listed by ``/recent``. Existing rows are otherwise untouched.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("digest_sent_at", sa.DateTime(timezone=True)))
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        # storage.schema.UtcDateTime stores naive UTC text on SQLite
        now = now.replace(tzinfo=None)
    backfill = sa.text(
        "UPDATE subscriptions SET digest_sent_at = :now WHERE mode = 'digest'"
    ).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))
    op.get_bind().execute(backfill, {"now": now})


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("digest_sent_at")
