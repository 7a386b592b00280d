"""Webhook mode of the fake Bot API (``tests.fakes.telegram_api``): ``setWebhook``,
``deleteWebhook``, ``getWebhookInfo``, and delivery of updates by POST.

As Telegram does: while a webhook is set, ``getUpdates`` answers 409, and the bot's pending
updates are POSTed one after another to the webhook URL as JSON, with the secret in the
``X-Telegram-Bot-Api-Secret-Token`` header; an update leaves the queue only when the answer is a
2xx, anything else (or no answer) is retried after ``RETRY_S`` (so a load balancer may hand the
retry to another replica). ``deleteWebhook`` stops the deliveries (``drop_pending_updates``
drops the queue) and long polling works again. Tests read ``FakeWebhook.deliveries`` (every
attempt and its status) and can deliver an update once more (``redeliver``), or POST anything
with any secret (``post``), to play a retry or a forger.

Plain http is accepted for loopback hosts only (the tests' replicas); real Telegram wants https.
Delivery is sequential (Telegram may use up to ``max_connections`` at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegramServer, _BotState

JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_S = 0.2  # Telegram waits longer; tests want the retry soon
POST_TIMEOUT_S = 10.0
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST of an update to the webhook."""

    update_id: int
    status: int | None  # None: no HTTP answer (refused connection, timeout)
    at: float  # time.monotonic()


class FakeWebhook:
    """One bot's webhook: where to deliver, with which secret, and the delivering task."""

    def __init__(
        self,
        server: FakeTelegramServer,
        bot: _BotState,
        url: str,
        secret: str | None,
        allowed_updates: list[str] | None,
    ) -> None:
        self.server = server
        self.bot = bot
        self.url = url
        self.secret = secret
        self.allowed_updates = allowed_updates
        self.deliveries: list[Delivery] = []
        self.delivered: dict[int, JSON] = {}  # update_id -> the update, once answered 2xx
        self.last_error: str | None = None
        self.last_error_date: int | None = None
        self._stopped = False
        self._session: aiohttp.ClientSession | None = None
        self._task = asyncio.create_task(self._deliver_all(), name="fake-webhook")

    async def stop(self) -> None:
        self._stopped = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, update: JSON, secret: str | None = None) -> int | None:
        """POST ``update`` to the webhook with ``secret`` (default: the one set); the status,
        or None when nothing answered. Recorded in ``deliveries``."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT_S)
            )
        headers = {"Content-Type": "application/json"}
        given = self.secret if secret is None else secret
        if given:
            headers[SECRET_HEADER] = given
        status: int | None
        try:
            async with self._session.post(
                self.url, data=json.dumps(update), headers=headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            status = None
            self.last_error = f"Connection failed: {type(e).__name__}"
        else:
            if not 200 <= status < 300:
                self.last_error = f"Wrong response from the webhook: {status}"
        if status is None or not 200 <= status < 300:
            self.last_error_date = int(time.time())
        self.deliveries.append(Delivery(int(update.get("update_id", 0)), status, time.monotonic()))
        self.server._notify()
        return status

    async def redeliver(self, update_id: int) -> int | None:
        """Deliver an already answered update once more (what Telegram does when a replica
        answered too slowly)."""
        return await self.post(self.delivered[update_id])

    def statuses(self, update_id: int) -> list[int | None]:
        return [d.status for d in self.deliveries if d.update_id == update_id]

    async def _deliver_all(self) -> None:
        while not self._stopped:
            if self.bot.updates and not self.server._closing:
                update = self.bot.updates[0]
                status = await self.post(update)
                if status is not None and 200 <= status < 300:
                    self.delivered[int(update["update_id"])] = update
                    if self.bot.updates and self.bot.updates[0] is update:
                        self.bot.updates.pop(0)
                    continue
                await asyncio.sleep(RETRY_S)
                continue
            event = self.server._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), 1.0)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def set_webhook(server: FakeTelegramServer, bot: _BotState, params: JSON) -> Any:
    from tests.fakes.telegram_api import ApiError, _json

    url = str(params.get("url") or "")
    if not url:
        return await delete_webhook(server, bot, params)
    parts = urlsplit(url)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname)
    ):
        raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET_RE.match(str(secret)):
        raise ApiError(400, "Bad Request: secret token contains unallowed characters")
    allowed = _json(params.get("allowed_updates"))
    if params.get("drop_pending_updates") in (True, "true", "True", "1"):
        bot.updates.clear()
    allowed_list = list(allowed) if isinstance(allowed, list) else None
    current = server.webhooks.get(bot.token)
    if current is not None and current.url == url:  # the same webhook again: kept as it is
        current.secret = None if secret is None else str(secret)
        current.allowed_updates = allowed_list
        return True
    old = server.webhooks.pop(bot.token, None)
    if old is not None:
        await old.stop()
    server.webhooks[bot.token] = FakeWebhook(
        server,
        bot,
        url,
        None if secret is None else str(secret),
        allowed_list,
    )
    bot.poll_generation += 1  # a long poll in progress ends with 409, as at Telegram
    server._notify()
    return True


async def delete_webhook(server: FakeTelegramServer, bot: _BotState, params: JSON) -> Any:
    old = server.webhooks.pop(bot.token, None)
    if old is not None:
        await old.stop()
    if params.get("drop_pending_updates") in (True, "true", "True", "1"):
        bot.updates.clear()
    return True


async def get_webhook_info(server: FakeTelegramServer, bot: _BotState, params: JSON) -> Any:
    hook = server.webhooks.get(bot.token)
    info: JSON = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook is not None:
        info["max_connections"] = 40
        if hook.allowed_updates is not None:
            info["allowed_updates"] = hook.allowed_updates
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error
    return info


def refusing_get_updates(original: Any) -> Any:
    """``getUpdates`` answers 409 while a webhook is set, as Telegram's does."""

    async def get_updates(server: FakeTelegramServer, bot: _BotState, params: JSON) -> Any:
        from tests.fakes.telegram_api import ApiError

        if bot.token in server.webhooks:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        return await original(server, bot, params)

    return get_updates
