"""Migrations: a database created at the first revision upgrades in place and keeps its data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from core.models import Chat, ChatType, DeliveryMode
from storage import SqlStorage
from storage.migrate import current_revision, head_revision, upgrade
from storage.sql import create_engine
from storage.words import AllWords, Word
from tests.support.storage_helpers import T0, at, make_article, match

FIRST_REVISION = "0001"


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
        # Old rows survive, and the search index added later covers them.
        assert [h.article_id for h in await storage.search_articles("strategic partnership")] == [
            article_id
        ]
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
