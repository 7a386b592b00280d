"""Self-service (#16): personal rules, one rule's mute, "not relevant" feedback.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``personal_rules``: rules a chat saved with ``/watch`` (numbered per chat; the rule id in force is
``u<chat>-<number>``, see ``bot.personal_rules``). ``rule_mutes``: when one subscription's mute
began (its end is ``subscriptions.muted_until``), so an unmute can send what matched meanwhile.
``rule_feedback``: an alert marked "not relevant", kept with the article's identity, title and
link (the article itself may be pruned first). ``chat_settings``: a chat's /settings (NULL: the
bot's default). New tables only: existing rows are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_rules",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rule_mutes",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("rule_id", sa.Text, primary_key=True),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rule_feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("article_identity", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("link", sa.Text),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("chat_id", "rule_id", "article_identity", name="uq_rule_feedback"),
    )
    op.create_index("ix_rule_feedback_rule", "rule_feedback", ["rule_id"])
    op.create_table(
        "chat_settings",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("timezone", sa.Text),
        sa.Column("link_preview", sa.Boolean),
        sa.Column("snippet", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("digest_days", sa.Text),  # e.g. "0,1,2,3,4"
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_settings")
    op.drop_index("ix_rule_feedback_rule", "rule_feedback")
    op.drop_table("rule_feedback")
    op.drop_table("rule_mutes")
    op.drop_table("personal_rules")
