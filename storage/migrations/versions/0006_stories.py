"""Stories (issue #13): a ``stories`` table, each article's story and why it joined, story
alerts in the outbox, and a chat's wish for one alert per article.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

* ``stories``: ``key`` is the grouping engine's key (the founding article's identity, or
  ``split:<identity>`` for a story made by a split), ``split_from`` the story a person split it
  from (the recorded constraint that keeps the two apart).
* ``articles.story_id``, ``articles.story_why`` (the decision as JSON), ``articles.story_pinned``
  (a person put it there: never regrouped). No foreign key: SQLite cannot add one to an existing
  table without rebuilding it, which would drop the full-text triggers of 0002.
* ``deliveries.story_id``: set on a story's alert row (one per story and chat), NULL on alerts
  sent per article.
* ``chats.stories_separate``: the chat asked for every article (``/stories separate``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("split_from", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("articles", sa.Column("story_id", sa.Integer))
    op.add_column("articles", sa.Column("story_why", sa.Text))
    op.add_column(
        "articles",
        sa.Column("story_pinned", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_articles_story", "articles", ["story_id"])
    op.add_column("deliveries", sa.Column("story_id", sa.Integer))
    op.create_index("ix_deliveries_chat_story", "deliveries", ["chat_id", "story_id"])
    op.add_column(
        "chats",
        sa.Column("stories_separate", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("chats", "stories_separate")
    op.drop_index("ix_deliveries_chat_story", "deliveries")
    op.drop_column("deliveries", "story_id")
    op.drop_index("ix_articles_story", "articles")
    op.drop_column("articles", "story_pinned")
    op.drop_column("articles", "story_why")
    op.drop_column("articles", "story_id")
    op.drop_table("stories")
