"""The word index: each article's words as the rule engine folds them (``storage.words``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

``article_words(article_id, words)`` holds an article's distinct index tokens; SQLite indexes
them with an external-content FTS5 table (``detail=none``: which articles hold a token, no
positions), PostgreSQL stores them as a ``tsvector`` (``array_to_tsvector``: lexemes as given,
no parser, no stemmer) with a GIN index. Ingest writes the row in the article's transaction.

``article_words_pending``: a trigger adds every article inserted, or whose title, summary or
content changes, and ingest removes it once its words are written. Searches treat pending
articles as candidates, so an article written by any other path (an older bot, a script)
is never missed, only scanned. The rows already stored are indexed here, in batches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.words import article_tokens, words_text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 500

SQLITE_UP = [
    "CREATE TABLE article_words (article_id INTEGER PRIMARY KEY, words TEXT NOT NULL)",
    """CREATE VIRTUAL TABLE article_words_fts USING fts5(
        words, content='article_words', content_rowid='article_id',
        detail=none, tokenize='ascii'
    )""",
    """CREATE TRIGGER article_words_ai AFTER INSERT ON article_words BEGIN
        INSERT INTO article_words_fts(rowid, words) VALUES (new.article_id, new.words);
    END""",
    """CREATE TRIGGER article_words_ad AFTER DELETE ON article_words BEGIN
        INSERT INTO article_words_fts(article_words_fts, rowid, words)
        VALUES ('delete', old.article_id, old.words);
    END""",
    """CREATE TRIGGER article_words_au AFTER UPDATE ON article_words BEGIN
        INSERT INTO article_words_fts(article_words_fts, rowid, words)
        VALUES ('delete', old.article_id, old.words);
        INSERT INTO article_words_fts(rowid, words) VALUES (new.article_id, new.words);
    END""",
    "CREATE TABLE article_words_pending (article_id INTEGER PRIMARY KEY)",
    """CREATE TRIGGER articles_words_ai AFTER INSERT ON articles BEGIN
        INSERT OR IGNORE INTO article_words_pending(article_id) VALUES (new.id);
    END""",
    """CREATE TRIGGER articles_words_au AFTER UPDATE OF title, summary, content ON articles
    BEGIN
        INSERT OR IGNORE INTO article_words_pending(article_id) VALUES (new.id);
    END""",
    """CREATE TRIGGER articles_words_ad AFTER DELETE ON articles BEGIN
        DELETE FROM article_words WHERE article_id = old.id;
        DELETE FROM article_words_pending WHERE article_id = old.id;
    END""",
]

POSTGRES_UP = [
    """CREATE TABLE article_words (
        article_id integer PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        words tsvector NOT NULL
    )""",
    "CREATE INDEX ix_article_words_words ON article_words USING gin (words)",
    """CREATE TABLE article_words_pending (
        article_id integer PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE
    )""",
    """CREATE FUNCTION article_words_pending_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO article_words_pending(article_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER articles_words_pending AFTER INSERT OR UPDATE OF title, summary, content
    ON articles FOR EACH ROW EXECUTE FUNCTION article_words_pending_add()""",
]


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for statement in SQLITE_UP if sqlite else POSTGRES_UP:
        op.execute(statement)
    if sqlite:
        insert = "INSERT INTO article_words(article_id, words) VALUES (:id, :words)"
    else:
        insert = (
            "INSERT INTO article_words(article_id, words)"
            " VALUES (:id, array_to_tsvector(CAST(:words AS text[])))"
        )
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
        values = []
        for r in rows:
            tokens = article_tokens(r.title, r.summary, r.content)
            values.append({"id": r.id, "words": words_text(tokens) if sqlite else tokens})
        bind.execute(sa.text(insert), values)
        last = rows[-1].id
    if not sqlite:
        # the planner's word statistics now, not at autovacuum's next pass: without them it
        # cannot tell a rare word (use the index) from a common one (read newest first)
        op.execute("ANALYZE article_words")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in (
            "article_words_ai",
            "article_words_ad",
            "article_words_au",
            "articles_words_ai",
            "articles_words_au",
            "articles_words_ad",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS article_words_fts")
    else:
        op.execute("DROP TRIGGER IF EXISTS articles_words_pending ON articles")
        op.execute("DROP FUNCTION IF EXISTS article_words_pending_add()")
    op.execute("DROP TABLE IF EXISTS article_words_pending")
    op.execute("DROP TABLE IF EXISTS article_words")
