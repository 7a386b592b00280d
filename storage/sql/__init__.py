"""``SqlStorage``: the ``Storage`` protocol over SQLAlchemy 2 Core (async), SQLite or PostgreSQL.

One class, two databases, chosen by URL (``sqlite+aiosqlite:///path`` or
``postgresql+asyncpg://...``). Exactly-once is carried by unique constraints (see the migrations
and docs/storage.md), not by checks in Python: every insert that could race is an
``INSERT ... ON CONFLICT DO NOTHING`` and its outcome is read back from ``RETURNING``.

The class is put together here from one part per resource, each a subclass of the shared
``engine.SqlEngine``: ``feeds``, ``articles`` (with ``ingest``, the batch), ``chats`` (and
subscriptions), ``outbox``, ``queries``, ``retention``, ``stories``, ``console`` (the web
console's reads), ``trends`` (trend opt-ins and alerts), ``leadership`` (which replica sends),
``personal`` (self-service) and ``updates`` (the webhook's inbox of Telegram updates). Does
not send anything, render alerts or decide retry delays: the outbox sender does.
"""

from __future__ import annotations

from .articles import ArticleStorage
from .chats import ChatStorage
from .console import ConsoleStorage
from .console_auth import ConsoleAuthStorage
from .engine import SqlEngine, create_engine
from .feeds import FeedStorage
from .leadership import LeadershipStorage
from .outbox import OutboxStorage
from .personal import PersonalStorage
from .queries import QueryStorage
from .retention import RetentionStorage
from .stories import StoryStorage
from .trends import TrendStorage
from .updates import UpdateStorage

__all__ = ["SqlEngine", "SqlStorage", "create_engine"]


class SqlStorage(
    FeedStorage,
    ArticleStorage,
    ChatStorage,
    OutboxStorage,
    QueryStorage,
    RetentionStorage,
    ConsoleStorage,
    StoryStorage,
    TrendStorage,
    LeadershipStorage,
    PersonalStorage,  # self-service (#16)
    ConsoleAuthStorage,  # console sign-in shared by replicas
    UpdateStorage,  # the webhook's inbox (#12)
):
    """Storage over SQLAlchemy Core async. ``await open()`` before use, ``await close()`` after.

    Driver and SQL errors surface as ``StorageError`` with a one-line message.
    """
