"""The maintenance job (``bot.runtime.maintenance``, every 6 h on the sender replica):
retention, and the articles written around ingest (another writer, an older replica) put into
the word index."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from sqlalchemy import text

from bot.config.settings import load_settings
from bot.runtime.app import App
from storage import SqlStorage
from tests.support.storage_helpers import make_article

ROOT = Path(__file__).resolve().parents[3]


async def test_the_maintenance_job_indexes_articles_written_around_ingest(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config" / "rules", config / "rules")
    (config / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'nw.db'}",
            "NEWSWATCH_CONFIG_DIR": str(config),
            "NEWSWATCH_HEALTH_ADDR": "",
        },
        env_file=None,
    )
    app = App(settings, out=io.StringIO(), background=False)
    await app.start()
    try:
        assert app.services is not None
        store = app.services.storage
        assert isinstance(store, SqlStorage)
        await store.ingest(make_article(1, title="Partners"), [], app.clock.now(), alert=False)
        async with store._tx() as conn:  # as another writer would leave it
            await conn.execute(text("DELETE FROM article_words"))
            await conn.execute(
                text("INSERT INTO article_words_pending(article_id) SELECT id FROM articles")
            )
        await app._maintain()
        async with store._tx() as conn:
            pending = await conn.scalar(text("SELECT count(*) FROM article_words_pending"))
            indexed = await conn.scalar(text("SELECT count(*) FROM article_words"))
        assert (pending, indexed) == (0, 1)
    finally:
        await app.stop()
