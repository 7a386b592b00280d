"""The error handler: a handler that raised is logged with its traceback, and the chat is told
plainly (the database is down, or something else went wrong) instead of hearing nothing.

Does not retry the command, and does not say more about the error than that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import ChatPrefs
from bot.telegram.handlers.access import Context
from bot.telegram.handlers.replies import apologise
from core.errors import NewswatchError
from core.models import Language

log = logging.getLogger(__name__)


def error_handler(
    out: ReplySender, prefs: ChatPrefs | None = None
) -> Callable[[object, Context], Coroutine[Any, Any, None]]:
    """PTB's error handler, answering through ``out`` in the chat's language (from ``prefs``;
    English without)."""

    async def on_error(update: object, context: Context) -> None:
        lang = None
        if prefs is not None and isinstance(update, Update) and update.effective_chat:
            lang = prefs.get(update.effective_chat.id).language
        await report_error(out, update, context.error, lang)

    return on_error


async def report_error(
    out: ReplySender, update: object, error: BaseException | None, lang: Language | None = None
) -> None:
    """Log a handler's failure and tell its chat (in ``lang``)."""
    log.error("handler failed: %r", error, exc_info=error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    key = "error.database" if isinstance(error, NewswatchError) else "error.other"
    await apologise(out, update, text(lang, key))
