"""The one outcome policy: what a ``SendOutcome`` means, whoever sent the message.

Every message the bot sends ends in one of five outcomes (``bot.delivery.sink.SendStatus``):
sent; retry later (429, network trouble, not connected yet); chat gone (blocked, kicked); chat
migrated (a group became a supergroup); refused for good. This module says what each one does
to the chat (``apply_to_chat``: a gone chat is paused, a migrated chat's subscriptions and
queued messages follow it) and how long a retry waits (``retry_delay_s``). The outbox applies it
to stored rows, the reply sender to command replies, so the two cannot drift apart.

Touches storage only through ``apply_to_chat``; sends nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.delivery.sink import SendOutcome, SendStatus
from bot.services import ChatPrefs
from storage.base import Storage

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_S = 5.0  # the sink is not connected yet: look again soon
BACKOFF_CAP_S = 3600.0


def backoff_s(attempts: int) -> float:
    """Exponential backoff for temporary failures: 5 s, 10 s, 20 s ... capped at 1 h.

    Temporary failures are retried for as long as they last (an alert is never dropped for
    being late); only a permanent refusal (``FAILED``) ends a delivery.
    """
    return float(min(BACKOFF_CAP_S, 5.0 * 2 ** max(0, attempts - 1)))


def retry_delay_s(outcome: SendOutcome, attempts: int) -> float:
    """How long a message that was not sent waits before its next try (``attempts`` counts
    this one). Telegram's ``retry_after`` is obeyed exactly; a gone chat's messages wait for
    the chat's return (their row is held back by the chat's state, so no delay of their own);
    a migrated chat's are due at once under the new id."""
    if outcome.status is SendStatus.UNAVAILABLE:
        return UNAVAILABLE_RETRY_S
    if outcome.status is SendStatus.CHAT_GONE or outcome.new_chat_id is not None:
        return 0.0
    if outcome.retry_after_s is not None:
        return outcome.retry_after_s
    return backoff_s(attempts)


async def apply_to_chat(
    storage: Storage,
    chat_id: int,
    outcome: SendOutcome,
    now: datetime | None = None,
    prefs: ChatPrefs | None = None,
) -> None:
    """What ``outcome`` changes for the chat itself: a gone chat is marked inactive (its
    alerts are kept and wait for it), a migrated chat moves to its new id (with its
    ``/settings``, in storage and in ``prefs``). Nothing otherwise."""
    error = outcome.error or outcome.status.value
    if outcome.status is SendStatus.CHAT_GONE:
        log.warning("chat unreachable, pausing it: %s", error, extra={"chat": chat_id})
        await storage.set_chat_active(chat_id, False, now=now)
    elif outcome.new_chat_id is not None:
        log.info("chat migrated to %s", outcome.new_chat_id, extra={"chat": chat_id})
        await storage.migrate_chat(chat_id, outcome.new_chat_id)
        if prefs is not None:
            prefs.follow_migration(chat_id, outcome.new_chat_id)
