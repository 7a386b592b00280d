"""Migration 0015: a database holding personal rules from before (their ids derived from chat
and number) upgrades with each rule's stored id equal to the one it was matched under, so
its subscription, mutes and feedback still name it; from then on an id is unique. SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.errors import StorageError
from storage import SqlStorage
from storage.migrate import current_revision, head_revision, upgrade
from storage.sql import create_engine
from tests.support.storage_helpers import T0, at

BEFORE = "0014"  # the revision before personal rules had a stored id

ROWS = ((1001, 1, "Rubio"), (1001, 3, "EU"), (-4001, 1, "ASEAN"))


async def test_upgrade_gives_every_personal_rule_the_id_it_was_matched_under(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, BEFORE)
        async with engine.begin() as conn:
            for chat_id, number, query in ROWS:
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
