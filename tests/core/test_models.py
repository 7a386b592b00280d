from datetime import UTC, datetime

from core.clock import FakeClock
from core.models import Article


def test_article_text_fields_names_the_matchable_fields() -> None:
    article = Article(feed_url="http://x/feed", identity="guid:1", title="T", summary="S")
    assert article.text_fields == {"title": "T", "summary": "S", "content": ""}


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
    clock.advance(90)
    assert clock.now() == datetime(2025, 1, 1, 0, 1, 30, tzinfo=UTC)
