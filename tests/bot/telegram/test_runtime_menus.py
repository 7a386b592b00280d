"""Starting the Telegram side registers the command menus in English (the default) and in
Vietnamese (``language_code="vi"``), for everyone and for each administrator's chat."""

from __future__ import annotations

from bot.config.feeds_file import FeedsConfig
from bot.config.settings import Settings
from bot.i18n import text
from bot.services import RuleHolder, Services
from bot.telegram.runtime import TelegramRuntime
from core.clock import FakeClock
from core.models import Language
from tests.bot.telegram.harness import ADMIN, RULES, FakeRuleSet, RecordingAdminActions
from tests.fakes.memory_storage import MemoryStorage
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits


async def test_start_registers_the_menus_in_both_languages() -> None:
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as tg:
        tg.add_chat(ADMIN)  # the administrator has started the bot: their chat exists
        settings = Settings(
            telegram_bot_token=DEFAULT_TOKEN,
            telegram_api_base_url=tg.base_url,
            admin_ids=frozenset({ADMIN}),
        )
        storage = MemoryStorage()
        await storage.open()
        services = Services(
            settings=settings,
            feeds=FeedsConfig(default_interval_s=300.0, feeds=()),
            storage=storage,
            rules=RuleHolder(FakeRuleSet(RULES)),  # type: ignore[arg-type]
            clock=FakeClock(),
        )
        runtime = TelegramRuntime(services, admin_actions=RecordingAdminActions())
        await runtime.start()
        try:
            english = {c["command"]: c["description"] for c in tg.commands()}
            vietnamese = {c["command"]: c["description"] for c in tg.commands(language_code="vi")}
            assert english["rules"] == text(None, "help.summary.rules")
            assert vietnamese["rules"] == text(Language.VI, "help.summary.rules")
            assert english.keys() == vietnamese.keys()
            assert "addfeed" not in vietnamese
            admin_vi = tg.commands(scope=f"chat/{ADMIN}", language_code="vi")
            assert {"addfeed": "thêm một nguồn tin"}.items() <= {
                c["command"]: c["description"] for c in admin_vi
            }.items()
            assert len(tg.commands(scope=f"chat/{ADMIN}")) == len(admin_vi)
        finally:
            await runtime.stop()
            await storage.close()
