"""Runtime (#12): feed leases for replicas, and when a chat went away (its catch-up digest).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

``chats.blocked_at`` is set when a chat becomes unreachable (blocked, kicked) and cleared when
its catch-up digest is queued after it came back; NULL for every existing chat.
``feeds.lease_owner`` / ``feeds.lease_until``: the process polling the feed now, and until when
its claim holds (a dead process's feeds are taken over after that); NULL: nobody.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("blocked_at", TS))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("lease_owner", sa.Text))
        batch.add_column(sa.Column("lease_until", TS))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("blocked_at")
