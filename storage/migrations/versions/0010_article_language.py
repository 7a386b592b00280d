"""Each article's language ("vi" or "en"), for the console's language filter.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

``articles.language``: set at ingest by ``core.language.article_language`` (the detector the
stories engine uses). The rows already stored are filled here in batches of ``BATCH`` by id,
with the same function, so old and new rows agree. NULL only for a row written by an older
version of the bot after this migration ran (the filter then leaves it out).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.language import article_language

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.add_column("articles", sa.Column("language", sa.Text))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, title, summary, content FROM articles WHERE id > :last"
                " ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        bind.execute(
            sa.text("UPDATE articles SET language = :language WHERE id = :id"),
            [
                {"id": r.id, "language": str(article_language(r.title, r.summary, r.content))}
                for r in rows
            ],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("language")
