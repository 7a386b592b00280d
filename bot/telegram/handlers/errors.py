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
from bot.telegram.handlers.access import Context
from bot.telegram.handlers.replies import apologise
from core.errors import NewswatchError

log = logging.getLogger(__name__)


def error_handler(out: ReplySender) -> Callable[[object, Context], Coroutine[Any, Any, None]]:
    """PTB's error handler, answering through ``out``."""

    async def on_error(update: object, context: Context) -> None:
        await report_error(out, update, context.error)

    return on_error


async def report_error(out: ReplySender, update: object, error: BaseException | None) -> None:
    """Log a handler's failure and tell its chat."""
    log.error("handler failed: %r", error, exc_info=error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    text = (
        "⚠️ The database is unavailable right now; please try again in a minute."
        if isinstance(error, NewswatchError)
        else "⚠️ Something went wrong on my side; it has been logged."
    )
    await apologise(out, update, text)
