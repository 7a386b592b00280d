"""Webhook mode: Telegram POSTs updates to any replica; the sender replica answers them.

``WebhookReceiver`` is the route (``POST /telegram/webhook`` on the bot's own aiohttp server,
``bot.ops.http_health``) every replica serves behind the load balancer. It checks the
``X-Telegram-Bot-Api-Secret-Token`` header in constant time (401 otherwise: the update is
dropped, and the refusal logged at most once per ``REFUSAL_LOG_EVERY_S``), and stores the
update in the database inbox (``storage.updates``) keyed by its ``update_id``: a repeated
delivery (Telegram retries when a replica is slow or gone, and the balancer may pick another
one) is a no-op, so an update is answered once. 200 once stored; 503 when the database cannot
store it, so that Telegram delivers it again later (perhaps to another replica).

``UpdateConsumer`` runs on the elected sender only (``bot.runtime.leadership``): it takes the
accepted updates in ``update_id`` order and hands each to PTB's ``Application.process_update``
(what python-telegram-bot's own custom-webhook examples do through ``update_queue``), so the
handlers run exactly as under long polling, in the one process that also paces every send.
Why the sender answers, rather than the replica that received the update: Telegram's limits
are per bot and the pacer is exact only where every send passes through it (see
``bot.runtime.leadership``), and the handlers keep the one consumer they were written for
(per-process state such as ``/search``'s paging numbers stays where the command ran). The cost
is one database round trip between receipt and answer; the sender hears of a new update at
once (NOTIFY on PostgreSQL, a direct wake-up on SQLite) and looks every ``LOOK_EVERY_S``
anyway.

Does not call ``setWebhook`` (``bot.telegram.runtime`` does, on the sender) nor decide which
replica leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.ops.metrics import Metrics
from core.errors import StorageError
from storage.updates import StoredUpdate, UpdateInbox

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REFUSAL_LOG_EVERY_S = 600.0  # a scanner hammering the route must not flood the log
LOOK_EVERY_S = 1.0  # the sender looks at the inbox this often without a wake-up
TAKE_BATCH = 100
KEEP_UPDATES = timedelta(days=1)  # Telegram gives up redelivering long before this
PRUNE_EVERY_S = 3600.0


class Outcome(StrEnum):
    """What became of one POST to the webhook (the ``outcome`` label of the metric)."""

    ACCEPTED = "accepted"  # a new update, stored for the sender
    REPEATED = "repeated"  # this update_id was accepted before: nothing more
    REFUSED = "refused"  # no or a wrong secret: 401, dropped
    FAILED = "failed"  # not an update (400) or the database could not take it (503)


class WebhookReceiver:
    """The webhook route of one replica: check, dedupe, store, wake the sender."""

    def __init__(
        self,
        inbox: UpdateInbox,
        secret: str,
        *,
        now: Callable[[], datetime],
        on_accepted: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._inbox = inbox
        self._metrics = metrics or Metrics()
        self._secret = secret.encode()
        self._now = now
        self._on_accepted = on_accepted
        self._monotonic = monotonic
        self._refused = 0  # since the last logged refusal
        self._refusal_logged_at: float | None = None
        self.accepted = 0
        self.repeated = 0

    def mount(self, app: web.Application) -> None:
        """Add ``POST WEBHOOK_PATH`` to ``app`` (``HealthServer.mount``)."""
        app.router.add_post(WEBHOOK_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self._count(Outcome.REFUSED)
            self._log_refusal(request)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        body = await request.text()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            self._count(Outcome.FAILED)
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            new = await self._inbox.accept_update(update_id, body, self._now())
        except StorageError as e:
            self._count(Outcome.FAILED)
            log.warning(
                "webhook: could not store update %d (%s); Telegram retries it", update_id, e
            )
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        if new:
            self.accepted += 1
            self._count(Outcome.ACCEPTED)
            self._on_accepted()
        else:
            self.repeated += 1
            self._count(Outcome.REPEATED)
            log.info("webhook: update %d was delivered again; answered once only", update_id)
        return web.json_response({"ok": True})

    def _count(self, outcome: Outcome) -> None:
        self._metrics.telegram_updates.labels(outcome=outcome.value).inc()

    def _log_refusal(self, request: web.Request) -> None:
        self._refused += 1
        now = self._monotonic()
        last = self._refusal_logged_at
        if last is not None and now - last < REFUSAL_LOG_EVERY_S:
            return
        log.warning(
            "webhook: refused %d request(s) without the right %s header (latest from %s); "
            "updates are accepted only with the secret given to setWebhook",
            self._refused,
            SECRET_HEADER,
            request.remote or "?",
        )
        self._refused = 0
        self._refusal_logged_at = now


class UpdateConsumer:
    """The sender's side: answers the accepted updates through PTB, in ``update_id`` order.

    ``wake()`` may be called from anywhere at any time (it only sets an event); ``run`` is a
    task of the Telegram runtime, started after ``setWebhook`` and cancelled at its stop.
    """

    def __init__(self, inbox: UpdateInbox, now: Callable[[], datetime]) -> None:
        self._inbox = inbox
        self._now = now
        self._wake = asyncio.Event()
        self.answered = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, application: Application) -> None:  # type: ignore[type-arg]
        last_prune = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LOOK_EVERY_S):
                    await self._wake.wait()
            self._wake.clear()
            try:
                batch = await self._inbox.take_updates(self._now(), TAKE_BATCH)
            except StorageError as e:
                log.warning("webhook: could not read the inbox (%s); retrying", e)
                continue
            except Exception:  # never let the one consumer of updates die
                log.exception("webhook: reading the inbox failed; retrying")
                continue
            for stored in batch:
                await self._answer(application, stored)
            if len(batch) == TAKE_BATCH:
                self._wake.set()  # more may wait: look again at once
            if time.monotonic() - last_prune >= PRUNE_EVERY_S:
                last_prune = time.monotonic()
                with contextlib.suppress(StorageError):
                    await self._inbox.prune_updates(self._now() - KEEP_UPDATES)

    async def _answer(self, application: Application, stored: StoredUpdate) -> None:  # type: ignore[type-arg]
        try:
            update = Update.de_json(json.loads(stored.payload), application.bot)
        except Exception as e:  # a malformed update must not stop the ones after it
            log.warning("webhook: update %d is unreadable (%r); dropped", stored.update_id, e)
            return
        try:
            # Handler errors go to PTB's error handlers inside process_update, as in polling.
            await application.process_update(update)
        except Exception as e:
            log.warning("webhook: update %d failed: %r", stored.update_id, e)
        self.answered += 1
