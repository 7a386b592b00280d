"""The Telegram side's lifecycle: build python-telegram-bot's Application, start long polling
(or, in webhook mode, set the webhook and answer the accepted updates), register the commands,
hand out the alert sink, and stop it all again.

Runs PTB inside our own event loop (initialize/start/updater.start_polling, and the reverse),
because ``run_polling`` would own the loop. Webhook mode (``NEWSWATCH_TELEGRAM_WEBHOOK_URL``):
``setWebhook`` with the secret, every start of a sender (idempotent at Telegram), and the
``UpdateConsumer`` of ``bot.telegram.webhook`` instead of the updater. Switching back to long
polling needs nothing here: PTB's ``start_polling`` calls ``deleteWebhook`` (pending updates
kept) before its first ``getUpdates``. Does not decide what to send or to whom.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import Application, ApplicationBuilder

from bot.delivery.alert_state import AlertStates
from bot.delivery.pacing import SendPacer
from bot.delivery.sink import AlertSink
from bot.delivery.telegram_sink import TelegramSink
from bot.personal_rules import PersonalRules
from bot.services import Services
from bot.telegram.handlers import AdminActions, WebLogin, register_handlers
from bot.telegram.handlers.commands import set_admin_menus, set_menus
from bot.telegram.handlers.stories import StorySplitter
from bot.telegram.rate_limiter import PacedRateLimiter
from bot.telegram.webhook import UpdateConsumer
from core.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)


def file_base_url(api_base_url: str) -> str:
    """PTB wants the file-download base too: ``.../bot`` -> ``.../file/bot``."""
    if api_base_url.rstrip("/").endswith("/bot"):
        return api_base_url.rstrip("/")[: -len("/bot")] + "/file/bot"
    return api_base_url.rstrip("/") + "/file/bot"


class TelegramRuntime:
    """Owns the PTB Application for one process (only one process may poll a token)."""

    def __init__(
        self,
        services: Services,
        *,
        admin_actions: AdminActions,
        pacer: SendPacer | None = None,
        web_login: WebLogin | None = None,
        stories: StorySplitter | None = None,
        personal: PersonalRules | None = None,
        updates: UpdateConsumer | None = None,
    ) -> None:
        self._services = services
        self._admin_actions = admin_actions
        self._web_login = web_login
        self._stories = stories  # the running grouping, for /split
        self._personal = personal  # the rules saved from the chat (/watch, /myrules)
        # One pacer for the process, kept across reconnects: it remembers Telegram's holds.
        self._pacer = pacer or SendPacer()
        self._application: Application | None = None  # type: ignore[type-arg]
        self._started = False
        self._updates = updates  # webhook mode: answers what the replicas accepted
        self._updates_task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        """True once polling (or the webhook) runs and alerts can be sent."""
        return self._started

    @property
    def application(self) -> Application:  # type: ignore[type-arg]
        assert self._application is not None
        return self._application

    async def start(self) -> AlertSink:
        settings = self._services.settings
        token = settings.telegram_bot_token
        if token is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN: not set")
        application = (
            ApplicationBuilder()
            .token(token)
            .base_url(settings.telegram_api_base_url)
            .base_file_url(file_base_url(settings.telegram_api_base_url))
            .rate_limiter(PacedRateLimiter(self._pacer))
            # We schedule with APScheduler ourselves; PTB would otherwise start a second one.
            .job_queue(None)
            .build()
        )
        register_handlers(
            application,
            self._services,
            self._admin_actions,
            web_login=self._web_login,
            stories=self._stories,
            personal=self._personal,
        )
        try:
            await application.initialize()
            await set_menus(application.bot)
            await set_admin_menus(application.bot, settings.admin_ids)
            if settings.telegram_webhook:
                await self._set_webhook(application)
        except InvalidToken:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN: Telegram rejected the token (check it with @BotFather)"
            ) from None
        except ConfigError:
            with contextlib.suppress(Exception):
                await application.shutdown()
            raise
        except NetworkError as e:
            # Leave nothing half-started, so that start() can simply be called again later.
            with contextlib.suppress(Exception):
                await application.shutdown()
            raise DeliveryError(
                f"Telegram is unreachable at {settings.telegram_api_base_url}: {e.message}"
            ) from None
        self._application = application
        await application.start()
        if settings.telegram_webhook:
            assert self._updates is not None, "webhook mode needs the UpdateConsumer"
            self._updates_task = asyncio.create_task(
                self._updates.run(application), name="telegram-updates"
            )
            self._updates.wake()  # what replicas accepted while no sender was connected
            log.info("Telegram: webhook mode as @%s", application.bot.username)
        else:
            assert application.updater is not None
            # drop_pending_updates=False: PTB deletes a webhook left from webhook mode first.
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("Telegram: polling as @%s", application.bot.username)
        self._started = True
        return TelegramSink(
            application.bot,
            tz=settings.tz,
            prefs=self._services.chat_prefs,
            # an alert's edit keeps the keyboard as the chat left it (muted, unsubscribed, ...)
            button_state=AlertStates(self._services),
        )

    async def stop(self) -> None:
        application = self._application
        if application is None:
            return
        task, self._updates_task = self._updates_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        self._application = None
        self._started = False

    async def _set_webhook(self, application: Application) -> None:  # type: ignore[type-arg]
        """``setWebhook``: the URL, the secret and every update type; what Telegram holds is
        kept (``drop_pending_updates=False``). Calling it again with the same values is
        harmless, so every new sender simply calls it."""
        settings = self._services.settings
        assert settings.telegram_webhook_url is not None
        try:
            await application.bot.set_webhook(
                url=settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        except BadRequest as e:  # e.g. "bad webhook: HTTPS url must be provided for webhook"
            raise ConfigError(
                f"NEWSWATCH_TELEGRAM_WEBHOOK_URL: Telegram refused the webhook: {e.message}"
            ) from None
