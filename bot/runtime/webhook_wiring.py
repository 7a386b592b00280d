"""Webhook mode's part of ``App``: the inbox consumer and the route every replica serves.

With ``NEWSWATCH_TELEGRAM_WEBHOOK_URL`` set, every replica mounts the webhook route
(``bot.telegram.webhook.WebhookReceiver``) on its HTTP server and accepts updates into the
database inbox; the ``UpdateConsumer`` made here answers them, but runs only while this
replica is the sender (the Telegram runtime starts and stops it with the sender's role, see
``bot.runtime.leadership``). Without the setting nothing here does anything. Contains no
business logic; ``App`` provides the attributes declared below.
"""

from __future__ import annotations

from bot.config.settings import Settings
from bot.ops.http_health import HealthServer
from bot.ops.metrics import Metrics
from bot.telegram.webhook import UpdateConsumer, WebhookReceiver
from core.clock import Clock
from storage.updates import UpdateInbox


class WebhookRole:
    """Builds and mounts webhook mode's parts (a mixin of ``App``)."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    updates: UpdateConsumer | None = None  # webhook mode only
    _inbox: UpdateInbox | None = None

    def _make_webhook_parts(self, inbox: UpdateInbox) -> None:
        """In webhook mode: the consumer the sender will run, over ``inbox``."""
        if self.settings.telegram_webhook:
            self._inbox = inbox
            self.updates = UpdateConsumer(inbox, self.clock.now)

    def _mount_webhook(self, health: HealthServer) -> None:
        """In webhook mode: serve the webhook route on ``health``'s server (call before its
        ``start``). Accepting wakes this process's consumer, which runs if it is the sender
        (other replicas' senders hear of it through the database)."""
        if self._inbox is None or self.updates is None:
            return
        receiver = WebhookReceiver(
            self._inbox,
            self.settings.telegram_webhook_secret,
            now=self.clock.now,
            on_accepted=self.updates.wake,
            metrics=self.metrics,
        )
        health.mount(receiver.mount)
