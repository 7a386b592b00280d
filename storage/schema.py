"""Table definitions the queries in ``storage.sql`` are written against.

This module only describes tables; it creates nothing. The schema itself is created and changed
by the Alembic migrations in ``storage/migrations`` (which spell out their DDL so that an old
revision keeps meaning what it meant). Keep the two in step: a column added here needs a
migration that adds it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

from core.models import DeliveryKind, DeliveryState


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones: values are converted to UTC and
    stored naive (SQLAlchemy's fixed-width text format, so text order is time order), and read
    back as aware UTC. Naive datetimes are refused: every time in newswatch is aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: newswatch stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("tags", Text, nullable=False, default="[]"),  # JSON list
    Column("interval_s", Float),
    Column("full_text", Boolean, nullable=False, default=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("title", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("next_check_at", UtcDateTime),
    Column("last_checked_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_new_item_at", UtcDateTime),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("items_seen", Integer, nullable=False, default=0),
    Column("avg_new_item_interval_s", Float),
    Column("first_poll_done", Boolean, nullable=False, default=False),
    Column("disabled_reason", Text),
    Column("health_reported_at", UtcDateTime),
    Column("redirected_to", Text),  # migration 0004
    Column("failing_since", UtcDateTime),  # migration 0004
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the process polling it now and until when its claim holds (0008); NULL: nobody
    Column("lease_owner", Text),
    Column("lease_until", UtcDateTime),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("identity", Text, nullable=False, unique=True),
    Column("feed_url", Text, nullable=False),
    Column("feed_name", Text),
    Column("guid", Text),
    Column("link", Text),
    Column("link_key", Text),
    Column("title_key", Text, nullable=False),  # normalised title, see storage.keys
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("content", Text, nullable=False, default=""),
    Column("author", Text),
    Column("published_at", UtcDateTime),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("edit_count", Integer, nullable=False, default=0),
    Column("story_id", Integer),  # 0006: stories.id (no foreign key, see the migration)
    Column("story_why", Text),  # 0006: the grouping decision, JSON
    Column("story_pinned", Boolean, nullable=False, default=False),  # 0006: placed by a person
    Column("language", Text),  # 0010: "vi" or "en" (core.language), NULL if never set
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", Text, nullable=False, unique=True),  # the engine's key
    Column("title", Text, nullable=False, default=""),  # the founding article's headline
    Column("split_from", Integer),  # the story a person split this one from
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

article_edits = Table(
    "article_edits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("edited_at", UtcDateTime, nullable=False),
    # the version that the edit replaced
    Column("old_title", Text, nullable=False),
    Column("old_summary", Text, nullable=False),
    Column("old_content", Text, nullable=False),
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", Text, nullable=False),
    # The article identity, not only its id, is the unique key: matches outlive pruned
    # articles, and an old item that reappears in a feed must not alert a second time.
    Column("article_identity", Text, nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("hits", Text, nullable=False, default="[]"),  # JSON [{term, field, start, end}]
    Column("title", Text, nullable=False),
    Column("link", Text),
    Column("feed_url", Text, nullable=False),
    Column("published_at", UtcDateTime),
    Column("matched_at", UtcDateTime, nullable=False),
)

chats = Table(
    "chats",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("type", Text, nullable=False, default="private"),
    Column("title", Text),
    Column("language", Text),
    Column("status", Text, nullable=False, default="active"),  # active | blocked | migrated
    Column("migrated_to", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("stories_separate", Boolean, nullable=False, default=False),  # 0006
    Column("blocked_at", UtcDateTime),  # away since; cleared when its catch-up is queued (0008)
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "chat_id",
        BigInteger,
        ForeignKey("chats.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("rule_id", Text, primary_key=True),
    Column("mode", Text, nullable=False, default="instant"),  # instant | digest
    Column("digest_schedule", Text),  # e.g. "hourly", "daily 08:00"
    Column("thread_id", BigInteger),  # forum topic the alerts go to
    Column("muted_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    # Digest mode: the end of the last period a digest covered (0003); NULL in instant mode.
    Column("digest_sent_at", UtcDateTime),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    # NULL for a digest or a notice (0005): those carry their rendered pages in ``payload``.
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE")),
    Column("rule_ids", Text, nullable=False),  # JSON list, sorted
    Column("thread_id", BigInteger),
    Column("kind", Text, nullable=False, default="alert"),  # core.models.DeliveryKind
    # pending | sending | sent | failed | cancelled
    Column("state", Text, nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("sending_at", UtcDateTime),
    Column("sending_owner", String(32)),  # which process marked it "sending"
    Column("sent_at", UtcDateTime),
    Column("message_id", BigInteger),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # A digest's or notice's pages (0005): JSON list of {"html", "plain", "silent"}.
    Column("payload", Text),
    # A story's alert row (0006): one per story and chat; NULL for an alert per article.
    Column("story_id", Integer),
)

# Trend alerts (0007): a chat's opt-in to spike alerts of one rule (``/trend RULE on``), in
# the forum topic it was asked in, and the start of the last spike it was alerted about.
trend_watches = Table(
    "trend_watches",
    metadata,
    Column(
        "chat_id",
        BigInteger,
        ForeignKey("chats.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("rule_id", Text, primary_key=True),
    Column("thread_id", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_spike_at", UtcDateTime),
)

UNFINISHED_STATES = tuple(s.value for s in DeliveryState if s.unfinished)
# Rows that act on a message already sent (edit it, reply to it): bound to the chat it is in,
# so they cannot follow a group that became a supergroup (its message ids mean nothing there).
MESSAGE_BOUND_KINDS = tuple(
    k.value for k in DeliveryKind if k.edits_message or k is DeliveryKind.REPLY
)


def row_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict (for readability where many columns are copied)."""
    return dict(row._mapping)


# Self-service (#16, migration 0009) ------------------------------------------------------------

personal_rules = Table(
    "personal_rules",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("number", Integer, primary_key=True, autoincrement=False),  # per chat, from 1
    Column("name", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("created_by", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The id it is matched under, u<chat>-<number> of where it was saved (0015): kept when a
    # migration moves the rule to its group's new chat id (storage.base.PersonalRule).
    Column("rule_id", Text, nullable=False, unique=True),
)

# Per chat, the highest number a personal rule of it was ever given (0016): a deleted rule's
# number, and so its id, is never given again.
personal_rule_numbers = Table(
    "personal_rule_numbers",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("highest", Integer, nullable=False),
)

rule_mutes = Table(
    "rule_mutes",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("rule_id", Text, primary_key=True),
    Column("muted_at", UtcDateTime, nullable=False),  # the end is subscriptions.muted_until
)

rule_feedback = Table(
    "rule_feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("article_identity", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text),
    Column("user_id", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
)

chat_settings = Table(
    "chat_settings",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("timezone", Text),
    Column("link_preview", Boolean),
    Column("snippet", Text),  # core.models.SnippetLength
    Column("language", Text),  # core.models.Language
    Column("digest_days", Text),  # comma-separated weekdays, Monday 0
    Column("updated_at", UtcDateTime, nullable=False),
)


# Console sign-in shared by replicas (0012) -----------------------------------------------------

console_keys = Table(
    "console_keys",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

used_login_links = Table(
    "used_login_links",
    metadata,
    Column("nonce", Text, primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
)

# The webhook's inbox (#12) ----------------------------------------------------------------

telegram_updates = Table(
    "telegram_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("payload", Text, nullable=False),  # the update's JSON, as Telegram sent it
    Column("received_at", UtcDateTime, nullable=False),
    Column("handled_at", UtcDateTime),  # when the sender took it; NULL: waiting
)
