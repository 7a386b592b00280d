"""Runtime (#12): when a chat went away, for the catch-up digest at its return.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01

``chats.blocked_at`` is set when a chat becomes unreachable (blocked, kicked) and cleared when
its catch-up digest is queued after it came back; NULL for every existing chat.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("blocked_at", TS))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("blocked_at")
