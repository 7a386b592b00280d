"""Console sign-in shared by replicas: the signing key, and the login links already used.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

``console_keys``: named random keys made once by whichever process asks first (the session and
login-link signing key when ``NEWSWATCH_WEB_SECRET`` is not set), so every replica signs and
checks alike and sessions outlive a restart. ``used_login_links``: the nonce of each one-time
link that was used, until the link would have expired anyway. New tables only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_keys",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "used_login_links",
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("used_login_links")
    op.drop_table("console_keys")
