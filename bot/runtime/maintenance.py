"""The maintenance job (every 6 hours, on the sender replica): retention, then the word index
of articles written around ingest (by another writer, an older replica). Does not schedule
itself; the App does."""

from __future__ import annotations

import logging

from bot.services import Services
from storage.sql import SqlStorage

log = logging.getLogger(__name__)


async def maintain(services: Services) -> None:
    """Prune what is older than ``retention_days``; index the articles still pending."""
    storage = services.storage
    removed = await storage.prune(services.clock.now(), services.settings.retention_days)
    if removed:
        log.info("retention: pruned %d old rows", removed)
    if isinstance(storage, SqlStorage) and (indexed := await storage.index_pending_words()):
        log.info("word index: %d articles written around ingest now indexed", indexed)
