"""Builders for storage tests: articles and matches with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.models import Article, Chat, ChatType, Delivery, Hit, RuleMatch
from storage import SqlStorage

T0 = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_article(n: int = 1, **overrides: object) -> Article:
    values: dict[str, object] = {
        "feed_url": "http://127.0.0.1/feed.xml",
        "identity": f"guid:item-{n}",
        "title": f"Vietnam and Japan upgrade ties, story {n}",
        "link": f"https://news.example/story/{n}",
        "link_key": f"news.example/story/{n}",
        "summary": f"Summary {n}: a comprehensive strategic partnership in the East Sea region.",
        "content": "",
        "guid": f"item-{n}",
        "published_at": T0,
        "feed_name": "Example News",
    }
    values.update(overrides)
    return Article(**values)  # type: ignore[arg-type]


def match(rule_id: str, term: str = "partnership") -> RuleMatch:
    return RuleMatch(rule_id, (Hit(term=term, field="summary", start=3, end=3 + len(term)),))


async def subscribed(store: SqlStorage, chat_id: int, *rule_ids: str) -> None:
    """A private chat ``chat_id`` subscribed to ``rule_ids``."""
    await store.upsert_chat(Chat(id=chat_id, type=ChatType.PRIVATE, title=f"chat {chat_id}"))
    for rule_id in rule_ids:
        assert await store.subscribe(chat_id, rule_id)


def article_of(delivery: Delivery) -> Article:
    """The article of an alert delivery (digests and notices carry none)."""
    assert delivery.article is not None, f"delivery {delivery.id} carries no article"
    return delivery.article
