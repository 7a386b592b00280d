"""Initial schema: feeds, articles (+ edits), matches, chats, subscriptions, deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("interval_s", sa.Float),
        sa.Column("full_text", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("title", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.String(64)),
        sa.Column("next_check_at", TS),
        sa.Column("last_checked_at", TS),
        sa.Column("last_success_at", TS),
        sa.Column("last_new_item_at", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", TS),
        sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
        sa.Column("items_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("avg_new_item_interval_s", sa.Float),
        sa.Column("first_poll_done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("health_reported_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("url", name="uq_feeds_url"),
    )
    op.create_index("ix_feeds_next_check_at", "feeds", ["next_check_at"])

    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("identity", sa.Text, nullable=False),
        sa.Column("feed_url", sa.Text, nullable=False),
        sa.Column("feed_name", sa.Text),
        sa.Column("guid", sa.Text),
        sa.Column("link", sa.Text),
        sa.Column("link_key", sa.Text),
        sa.Column("title_key", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("content", sa.Text, nullable=False, server_default=""),
        sa.Column("author", sa.Text),
        sa.Column("published_at", TS),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("edit_count", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("identity", name="uq_articles_identity"),
    )
    # An item whose guid changed but whose link and title did not is the same article.
    op.create_index(
        "uq_articles_link_title",
        "articles",
        ["link_key", "title_key"],
        unique=True,
        sqlite_where=sa.text("link_key IS NOT NULL"),
        postgresql_where=sa.text("link_key IS NOT NULL"),
    )
    op.create_index("ix_articles_first_seen_at", "articles", ["first_seen_at"])

    op.create_table(
        "article_edits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE", name="fk_article_edits_article"),
            nullable=False,
        ),
        sa.Column("edited_at", TS, nullable=False),
        sa.Column("old_title", sa.Text, nullable=False),
        sa.Column("old_summary", sa.Text, nullable=False),
        sa.Column("old_content", sa.Text, nullable=False),
    )
    op.create_index("ix_article_edits_article_id", "article_edits", ["article_id"])

    op.create_table(
        "matches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("article_identity", sa.Text, nullable=False),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="SET NULL", name="fk_matches_article"),
        ),
        sa.Column("hits", sa.Text, nullable=False, server_default="[]"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("link", sa.Text),
        sa.Column("feed_url", sa.Text, nullable=False),
        sa.Column("published_at", TS),
        sa.Column("matched_at", TS, nullable=False),
        sa.UniqueConstraint("rule_id", "article_identity", name="uq_matches_rule_article"),
    )
    op.create_index("ix_matches_rule_matched_at", "matches", ["rule_id", "matched_at"])
    op.create_index("ix_matches_matched_at", "matches", ["matched_at"])
    op.create_index("ix_matches_article_id", "matches", ["article_id"])

    op.create_table(
        "chats",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("type", sa.Text, nullable=False, server_default="private"),
        sa.Column("title", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("migrated_to", sa.BigInteger),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'blocked', 'migrated')", name="ck_chats_status"
        ),
    )

    op.create_table(
        "subscriptions",
        sa.Column(
            "chat_id",
            sa.BigInteger,
            sa.ForeignKey("chats.id", ondelete="CASCADE", name="fk_subscriptions_chat"),
            nullable=False,
        ),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False, server_default="instant"),
        sa.Column("digest_schedule", sa.Text),
        sa.Column("thread_id", sa.BigInteger),
        sa.Column("muted_until", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "rule_id", name="pk_subscriptions"),
        sa.CheckConstraint("mode IN ('instant', 'digest')", name="ck_subscriptions_mode"),
    )
    op.create_index("ix_subscriptions_rule_id", "subscriptions", ["rule_id"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "chat_id",
            sa.BigInteger,
            sa.ForeignKey("chats.id", ondelete="CASCADE", name="fk_deliveries_chat"),
            nullable=False,
        ),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE", name="fk_deliveries_article"),
            nullable=False,
        ),
        sa.Column("rule_ids", sa.Text, nullable=False),
        sa.Column("thread_id", sa.BigInteger),
        sa.Column("kind", sa.Text, nullable=False, server_default="alert"),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("sending_at", TS),
        sa.Column("sending_owner", sa.String(32)),
        sa.Column("sent_at", TS),
        sa.Column("message_id", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        # One alert per chat and article, however many of the chat's rules matched it.
        sa.UniqueConstraint("chat_id", "article_id", name="uq_deliveries_chat_article"),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
            name="ck_deliveries_state",
        ),
    )
    op.create_index("ix_deliveries_state_next", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_article_id", "deliveries", ["article_id"])


def downgrade() -> None:
    for table in ("deliveries", "subscriptions", "chats", "matches", "article_edits"):
        op.drop_table(table)
    op.drop_table("articles")
    op.drop_table("feeds")
