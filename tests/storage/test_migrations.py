"""Migrations: a database created at the first revision upgrades in place and keeps its data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import StorageError
from core.models import Chat, ChatType, DeliveryMode
from storage import SqlStorage
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.sql import create_engine
from storage.words import AllWords, Word
from tests.support.storage_helpers import T0, at, make_article, match

FIRST_REVISION = "0001"
BEFORE_FTS_DROP = "0013"  # the last revision with 0002's full-text index (0014 drops it)
BEFORE_RULE_IDS = "0014"  # the last revision without personal_rules.rule_id (0015)
PERSONAL_ROWS = ((1001, 1, "Rubio"), (1001, 3, "EU"), (-4001, 1, "ASEAN"))


async def test_upgrade_from_first_revision_keeps_data(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, FIRST_REVISION)
        assert await current_revision(engine) == FIRST_REVISION
        # Rows written the way version 0001 of the schema had them.
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO articles (identity, feed_url, link_key, title_key, title,"
                    " summary, content, first_seen_at, updated_at, edit_count) VALUES ("
                    " 'guid:old-1', 'http://127.0.0.1/feed.xml', 'news.example/story/1',"
                    " 'vietnam and japan upgrade ties story 1',"
                    " 'Vietnam and Japan upgrade ties, story 1',"
                    " 'A comprehensive strategic partnership', '', :t, :t, 0)"
                ),
                {"t": T0},
            )
            article_id = (await conn.execute(text("SELECT id FROM articles"))).scalar_one()
            await conn.execute(
                text(
                    "INSERT INTO matches (rule_id, article_identity, article_id, hits, title,"
                    " feed_url, matched_at) VALUES ('csp', 'guid:old-1', :a, '[]',"
                    " 'Vietnam and Japan upgrade ties, story 1', 'http://127.0.0.1/feed.xml', :t)"
                ),
                {"t": T0, "a": article_id},
            )
            await conn.execute(
                text(
                    "INSERT INTO chats (id, type, status, created_at, updated_at)"
                    " VALUES (42, 'private', 'active', :t, :t)"
                ),
                {"t": T0},
            )
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (chat_id, rule_id, mode, created_at)"
                    " VALUES (42, 'csp', 'instant', :t)"
                ),
                {"t": T0},
            )
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (chat_id, rule_id, mode, digest_schedule,"
                    " created_at) VALUES (42, 'sea', 'digest', 'daily 08:00', :t)"
                ),
                {"t": T0},
            )
    finally:
        await engine.dispose()

    upgraded_after = datetime.now(UTC)
    storage = SqlStorage(database_url)  # open() upgrades to head
    await storage.open()
    try:
        assert await current_revision(storage.engine) == head_revision() != FIRST_REVISION
        # Old rows survive (the word index added later covers them: 0011 below).
        assert [m.rule_id for m in await storage.recent_matches(chat_id=42)] == ["csp"]
        assert await storage.subscriptions(42) == ["csp", "sea"]
        # 0003: digests already chosen start their first period at the upgrade
        csp, sea = await storage.subscription_details(42)
        assert (csp.mode, csp.digest_sent_at) == (DeliveryMode.INSTANT, None)
        assert (sea.mode, sea.digest_schedule) == (DeliveryMode.DIGEST, "daily 08:00")
        assert sea.digest_sent_at is not None
        assert upgraded_after <= sea.digest_sent_at <= datetime.now(UTC)
        assert [s.rule_id for s in await storage.digest_subscriptions()] == ["sea"]
        assert await storage.get_chat(42) == Chat(id=42, type=ChatType.PRIVATE)
        # 0008: an existing chat was never away: no catch-up digest for it
        assert await storage.returned_chats() == []
        # The old article is still recognised: re-ingesting it alerts nobody.
        again = await storage.ingest(make_article(1, identity="guid:old-1"), [match("csp")], at(1))
        assert (again.article_id, again.new_matches, again.new_deliveries) == (article_id, 0, 0)
        new = await storage.ingest(make_article(2), [match("csp")], at(2))
        assert new.new_deliveries == 1
        # 0006: old articles have no story, chats get one alert per story by default.
        assert await storage.story_of_article(article_id) is None
        assert not await storage.chat_stories_separate(42)
        # 0010: the old article's language is filled in; 0011: its words are indexed (not
        # pending), with the engine's folding ("partnership" of "Partnerships")
        (old,) = await storage.articles_by_ids([article_id])
        assert old.language == "en"
        cond = AllWords((Word("strategic"), Word("partnership")))
        assert await storage.word_candidates(cond, before_id=article_id + 1) == [article_id]
        async with storage.engine.begin() as conn:
            pending = await conn.execute(text("SELECT count(*) FROM article_words_pending"))
            assert pending.scalar_one() == 0
    finally:
        await storage.close()


async def test_open_twice_is_idempotent_and_creates_the_sqlite_folder(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deep' / 'er' / 'nw.db'}"
    for _ in range(2):
        storage = SqlStorage(url)
        await storage.open()
        assert await current_revision(storage.engine) == head_revision()
        await storage.close()
    assert (tmp_path / "deep" / "er" / "nw.db").exists()


async def test_sqlite_pragmas_are_set(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    try:
        async with storage.engine.connect() as conn:
            journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
        assert (journal, fks) == ("wal", 1)
        assert busy is not None
        assert busy >= 5000
    finally:
        await storage.close()


async def test_in_memory_sqlite_works_for_throwaway_runs() -> None:
    storage = SqlStorage("sqlite+aiosqlite://")
    await storage.open()
    try:
        assert await storage.subscribe(1, "csp")
        assert await storage.subscriptions(1) == ["csp"]
    finally:
        await storage.close()


async def test_replicas_opening_a_fresh_database_together_wait_for_one_another(
    database_url: str,
) -> None:
    """Three processes' storages open (and migrate) one new database at once: on PostgreSQL
    the advisory lock makes them take turns instead of crashing on alembic_version."""
    stores = [SqlStorage(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
        for store in stores:
            assert await current_revision(store.engine) == head_revision()
    finally:
        for store in stores:
            await store.close()


# 0014: the full-text index of 0002 dropped -------------------------------------------------
async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the database at ``engine`` down to ``revision`` (the bot itself never does)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def fts_objects(engine: AsyncEngine) -> list[str]:
    """The names of 0002's full-text objects present: on SQLite the ``articles_fts`` table,
    the shadow tables FTS5 keeps it in, and its triggers; on PostgreSQL the ``search_vector``
    column and its index."""
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE name LIKE 'articles\\_fts%' ESCAPE '\\'"
        else:
            sql = (
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'articles' AND column_name = 'search_vector'"
                " UNION ALL SELECT indexname FROM pg_indexes"
                " WHERE indexname = 'ix_articles_search_vector'"
            )
        return sorted(row[0] for row in await conn.execute(text(sql)))


async def fts_ids(engine: AsyncEngine, word: str) -> list[int]:
    """Ids of the articles 0002's index finds ``word`` in (its own tokenizer, stemming)."""
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :w ORDER BY rowid"
        else:
            sql = (
                "SELECT id FROM articles"
                " WHERE search_vector @@ plainto_tsquery('english', :w) ORDER BY id"
            )
        return [row[0] for row in await conn.execute(text(sql), {"w": word})]


FTS_OBJECTS = {
    "sqlite": [
        "articles_fts",
        "articles_fts_ad",  # the triggers
        "articles_fts_ai",
        "articles_fts_au",
        "articles_fts_config",  # FTS5's shadow tables (external content: no _content)
        "articles_fts_data",
        "articles_fts_docsize",
        "articles_fts_idx",
    ],
    "postgresql": ["ix_articles_search_vector", "search_vector"],
}


async def test_a_new_database_has_no_full_text_index(store: SqlStorage) -> None:
    assert await fts_objects(store.engine) == []
    # Articles are written, edited and found through the word index without it.
    first = await store.ingest(make_article(1), [], at(0))
    await store.ingest(make_article(1, summary="Rice exports grow."), [], at(1))
    cond = AllWords((Word("rice"), Word("grow")))
    assert await store.word_candidates(cond) == [first.article_id]
    assert await store.word_candidates(AllWords((Word("partnership"),))) == []


async def test_upgrade_past_0014_drops_the_full_text_index_and_keeps_the_articles(
    database_url: str,
) -> None:
    """A database at 0013 holding an article upgrades to head: 0002's objects are gone, the
    article is kept and found by the word index, new articles are written and edited (no
    trigger left behind on SQLite). Down to 0013 again recreates the index holding every
    article; up again drops it once more."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, BEFORE_FTS_DROP)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO articles (identity, feed_url, link_key, title_key, title,"
                    " summary, content, first_seen_at, updated_at, edit_count, language) VALUES"
                    " ('guid:old-1', 'http://127.0.0.1/feed.xml', 'news.example/story/1',"
                    " 'fishing fleets return', 'Fishing fleets return',"
                    " 'Boats are back in port', '', :t, :t, 0, 'en')"
                ),
                {"t": T0},
            )
            old_id = (await conn.execute(text("SELECT id FROM articles"))).scalar_one()
        dialect = engine.dialect.name
        assert await fts_objects(engine) == FTS_OBJECTS[dialect]
        assert await fts_ids(engine, "fleet") == [old_id]  # 0002's stemmer at work
    finally:
        await engine.dispose()

    storage = SqlStorage(database_url)
    await storage.open()
    try:
        assert await current_revision(storage.engine) == head_revision()
        assert await fts_objects(storage.engine) == []
        assert await storage.index_pending_words() == 1  # the article written at 0013
        (old,) = await storage.articles_by_ids([old_id])
        assert old.article.title == "Fishing fleets return"
        new = await storage.ingest(make_article(2), [], at(1))
        await storage.ingest(make_article(2, summary="Fishing boats and rice."), [], at(2))
        new_id = new.article_id
        assert new_id is not None
        fishing = AllWords((Word("fishing"),))
        assert await storage.word_candidates(fishing) == [new_id, old_id]
        assert await storage.word_candidates(AllWords((Word("rice"),))) == [new_id]
        assert await storage.word_candidates(AllWords((Word("partnership"),))) == []

        await downgrade(storage.engine, BEFORE_FTS_DROP)
        assert await fts_objects(storage.engine) == FTS_OBJECTS[dialect]
        # Recreated as 0002 made it: filled from the stored rows, edits included.
        assert await fts_ids(storage.engine, "fishing") == [old_id, new_id]
        assert await fts_ids(storage.engine, "partnership") == []
        async with storage.engine.begin() as conn:  # and kept in step again (0002's triggers)
            await conn.execute(
                text("UPDATE articles SET summary = 'A partnership' WHERE id = :i"), {"i": old_id}
            )
        assert await fts_ids(storage.engine, "partnership") == [old_id]

        await upgrade(storage.engine)
        assert await current_revision(storage.engine) == head_revision()
        assert await fts_objects(storage.engine) == []
        assert len(await storage.articles_by_ids([old_id, new_id])) == 2
        await storage.index_pending_words()  # the edit made at 0013
        assert await storage.word_candidates(AllWords((Word("partnership"),))) == [old_id]
    finally:
        await storage.close()


# 0015: personal rules keep a stored id ------------------------------------------------------
async def test_upgrade_gives_every_personal_rule_the_id_it_was_matched_under(
    database_url: str,
) -> None:
    """0015: personal rules saved before it (their ids derived from chat and number) get the
    id they were matched under, so their subscription, mutes and feedback still name them; a
    migration of their group then moves them with it; an id is unique from then on."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, BEFORE_RULE_IDS)
        async with engine.begin() as conn:
            for chat_id, number, query in PERSONAL_ROWS:
                await conn.execute(
                    text(
                        "INSERT INTO personal_rules (chat_id, number, name, query, paused,"
                        " created_at, updated_at) VALUES (:c, :n, :q, :q, false, :t, :t)"
                    ),
                    {"c": chat_id, "n": number, "q": query, "t": T0},
                )
            await conn.execute(
                text(
                    "INSERT INTO chats (id, type, status, created_at, updated_at)"
                    " VALUES (-4001, 'group', 'active', :t, :t)"
                ),
                {"t": T0},
            )
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (chat_id, rule_id, mode, created_at)"
                    " VALUES (-4001, 'u-4001-1', 'instant', :t)"
                ),
                {"t": T0},
            )
    finally:
        await engine.dispose()

    storage = SqlStorage(database_url)
    await storage.open()  # upgrades to head
    try:
        assert await current_revision(storage.engine) == head_revision()
        stored = {(r.chat_id, r.number): r.rule_id for r in await storage.personal_rules()}
        assert stored == {(-4001, 1): "u-4001-1", (1001, 1): "u1001-1", (1001, 3): "u1001-3"}
        asean = await storage.personal_rule("u-4001-1")
        assert asean is not None
        assert asean.query == "ASEAN"
        # The group migrates after the upgrade: the rule and its subscription move, same id.
        await storage.migrate_chat(-4001, -1004001)
        assert await storage.subscriptions(-1004001) == ["u-4001-1"]
        moved = await storage.personal_rule("u-4001-1")
        assert moved is not None
        assert (moved.chat_id, moved.number) == (-1004001, 1)
        # New rules are numbered on as before.
        new = await storage.add_personal_rule(1001, "x", "x", limit=9, created_by=None, now=at(1))
        assert new is not None
        assert (new.number, new.rule_id) == (4, "u1001-4")
        # Two rules can never share an id.
        with pytest.raises(StorageError):
            async with storage._tx() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO personal_rules (chat_id, number, name, query, paused,"
                        " created_at, updated_at, rule_id)"
                        " VALUES (7, 1, 'y', 'y', false, :t, :t, 'u1001-1')"
                    ),
                    {"t": T0},
                )
    finally:
        await storage.close()


# 0016: a deleted personal rule's number is never given again ---------------------------------
async def test_upgrade_keeps_the_numbers_of_rules_deleted_before_it(database_url: str) -> None:
    """0016: a number whose rule was deleted before the upgrade, but whose id is still stored
    (here a "not relevant" mark and a match), is not given to the chat's next rule."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0015")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO personal_rules (chat_id, number, name, query, paused,"
                    " created_at, updated_at, rule_id)"
                    " VALUES (1001, 1, 'a', 'a', false, :t, :t, 'u1001-1')"
                ),
                {"t": T0},
            )
            await conn.execute(
                text(
                    "INSERT INTO rule_feedback (chat_id, rule_id, article_identity, title,"
                    " created_at) VALUES (1001, 'u1001-6', 'guid:x', 'x', :t)"
                ),
                {"t": T0},
            )
            await conn.execute(
                text(
                    "INSERT INTO rule_feedback (chat_id, rule_id, article_identity, title,"
                    " created_at) VALUES (-4001, 'u-4001-2', 'guid:y', 'y', :t)"
                ),
                {"t": T0},
            )
    finally:
        await engine.dispose()

    storage = SqlStorage(database_url)
    await storage.open()  # upgrades to head
    try:
        await storage.ingest(make_article(1), [match("u1001-9")], at(0))  # stored after it
        mine = await storage.add_personal_rule(1001, "b", "b", limit=9, created_by=None, now=at(1))
        group = await storage.add_personal_rule(
            -4001, "c", "c", limit=9, created_by=None, now=at(1)
        )
        fresh = await storage.add_personal_rule(5, "d", "d", limit=9, created_by=None, now=at(1))
        assert mine is not None
        assert group is not None
        assert fresh is not None
        # 6 was deleted before the upgrade; 9 only matched (not a rule here), so 7 is next
        assert (mine.rule_id, group.rule_id, fresh.rule_id) == ("u1001-7", "u-4001-3", "u5-1")
    finally:
        await storage.close()
