"""Admin notices in each admin's language (#16): one outbox row per admin, the words of the
admin's chat's language (``/settings``), what the notice quotes as it is. Over SQLite: the rows
are read back as the outbox sender would send them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.ops.metrics import Metrics
from bot.runtime.admin_notices import AdminNotices
from bot.services import RuleHolder, Services
from core.clock import FakeClock
from core.models import ChatSettings, DeliveryKind, FeedConfig, Language
from rules import RuleSet, compile_ruleset
from storage.sql import SqlStorage

NOW = datetime(2025, 7, 11, 12, 0, tzinfo=UTC)
EN_ADMIN, VI_ADMIN = 9001, 9002


class Notices(AdminNotices):
    """The mixin on its own, as ``App`` holds it."""

    def __init__(self, services: Services) -> None:
        self.settings = services.settings
        self.clock = services.clock
        self.services = services
        self.metrics = Metrics()
        self.woken = 0

    def _wake_sender(self) -> None:
        self.woken += 1


@pytest.fixture
async def notices(tmp_path: Path) -> AsyncIterator[Notices]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'nw.db'}")
    await storage.open()
    settings = Settings(telegram_bot_token="1:x", admin_ids=frozenset({EN_ADMIN, VI_ADMIN}))
    services = Services(
        settings, FeedsConfig(300, ()), storage, RuleHolder(RuleSet.empty()), FakeClock(NOW)
    )
    services.chat_prefs.put(VI_ADMIN, ChatSettings(language=Language.VI))
    yield Notices(services)
    await storage.close()


async def sent_texts(notices: Notices) -> dict[int, list[str]]:
    assert notices.services is not None
    due = await notices.services.storage.due_deliveries(NOW + timedelta(minutes=1))
    texts: dict[int, list[str]] = {}
    for d in due:
        assert d.kind is DeliveryKind.NOTICE
        texts.setdefault(d.chat_id, []).extend(p.plain for p in d.pages)
    return texts


async def test_rules_gone_and_rejected_in_each_admins_language(notices: Notices) -> None:
    assert notices.services is not None
    await notices.services.storage.subscribe(1, "gone_rule")
    new = compile_ruleset({"a.yaml": "rules:\n  - id: kept\n    name: Kept\n    query: 'x'\n"})
    await notices._rules_swapped(new, RuleSet.empty())
    await notices._rules_rejected("a.yaml:3: unclosed quote")
    texts = await sent_texts(notices)
    assert texts[EN_ADMIN] == [
        "Chats are subscribed to rules that no longer exist (the subscriptions are kept and "
        "resume if the rules come back): gone_rule",
        "Rule change rejected; the previous rules stay in force.\na.yaml:3: unclosed quote",
    ]
    assert texts[VI_ADMIN] == [
        "Có cuộc trò chuyện đăng ký những quy tắc không còn tồn tại (các đăng ký được giữ lại và "
        "hoạt động tiếp nếu quy tắc quay lại): gone_rule",
        "Thay đổi quy tắc bị từ chối; các quy tắc trước đó vẫn có hiệu lực.\n"
        "a.yaml:3: unclosed quote",
    ]
    assert notices.woken == 2


async def test_a_failing_feed_is_reported_in_each_admins_language(notices: Notices) -> None:
    assert notices.services is not None
    storage = notices.services.storage
    url = "https://vna.example/rss"
    await storage.sync_feeds([FeedConfig(url=url, name="VNA")], NOW)
    state = await storage.get_feed(url)
    assert state is not None
    await storage.save_feed_state(
        replace(
            state,
            consecutive_errors=9,
            last_error="HTTP 503",
            failing_since=NOW - timedelta(days=2),
            last_success_at=NOW - timedelta(days=3),
        )
    )
    await notices._report_feed_health()
    await notices._report_feed_health()  # once per problem
    texts = await sent_texts(notices)
    assert texts[EN_ADMIN] == ["VNA: failing for 2d (9 errors in a row), last error: HTTP 503"]
    assert texts[VI_ADMIN] == [
        "VNA: lỗi liên tục trong 2 ngày (9 lỗi liên tiếp), lỗi gần nhất: HTTP 503"
    ]
