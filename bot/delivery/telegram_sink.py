"""Telegram as an ``AlertSink``: one message in, one message out (or an edit), one outcome back.

This is the only code that calls the Bot API's send and edit methods (a test holds that): alerts,
edits, digests, notices and trend charts (``send_photo``) from the outbox, and command replies
(``bot.delivery.replies``). Alerts carry the keyboard of ``bot.delivery.alert_buttons``,
and an edit of an alert carries it as it stands (``button_state``, ``bot.delivery.alert_state``);
``edit_buttons`` changes only a keyboard. The bot's words are in the chat's language
(``ChatSettings.language``).
Formats alerts with ``bot.delivery.alert_format.format_alert``; pacing is the bot's rate
limiter (``bot.telegram.rate_limiter``). Maps python-telegram-bot's errors to ``SendOutcome`` in
one place:

===============================  ===========================================================
``RetryAfter``                   RETRY after exactly ``retry_after`` (the rate limiter holds
                                 the chat that long)
``Forbidden``                    CHAT_GONE (blocked, kicked, no right to post)
``ChatMigrated``                 RETRY with ``new_chat_id``
``BadRequest`` can't parse ...   logged as a bug, resent once as plain text
``BadRequest`` thread not found  resent once to the chat itself (the topic was deleted)
``BadRequest`` edit impossible   sent as a new message instead (an edit is never lost)
``BadRequest`` reply-to is gone   resent once without the reply
``BadRequest`` a button refused  logged as a bug, resent once without the keyboard
``BadRequest`` chat not found    CHAT_GONE
other ``BadRequest``             FAILED (permanent for this message)
``TimedOut`` / ``NetworkError``  RETRY; the outbox applies its backoff
===============================  ===========================================================

Does not touch storage, choose recipients or retry later by itself: the outbox does that.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from zoneinfo import ZoneInfo

from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery.alert_buttons import AlertButtonState, alert_keyboard
from bot.delivery.sink import SendOutcome, SendStatus
from bot.delivery.story_format import format_delivery
from bot.services import ChatPrefs
from core.models import (
    ChatSettings,
    Delivery,
    DeliveryKind,
    RenderedMessage,
    RuleInfo,
    SnippetLength,
)

log = logging.getLogger(__name__)

_UTC = ZoneInfo("UTC")


def retry_after_seconds(error: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns that the attribute becomes a timedelta in its next major version.
        warnings.simplefilter("ignore")
        value: object = error.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return 1.0


class TelegramSink:
    """Sends alerts, digests and replies through a python-telegram-bot ``Bot``.

    Pacing is not done here but by the bot's rate limiter (``bot.telegram.rate_limiter``), so
    that every request the process makes shares one budget. Give it the Application's bot.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        tz: ZoneInfo = _UTC,
        link_preview: bool = False,
        prefs: ChatPrefs | None = None,
        button_state: Callable[[Delivery], Awaitable[AlertButtonState]] | None = None,
    ) -> None:
        self._bot = bot
        self._tz = tz
        self._link_preview = link_preview
        self._preview = LinkPreviewOptions(is_disabled=not link_preview)
        # Per-chat /settings (#16): time zone, link preview, snippet length, language of alerts.
        self._prefs = prefs
        # What the alert's keyboard shows now (muted, unsubscribed, marked): an edit redraws it
        # as it stands (``bot.delivery.alert_state.AlertStates``); without it, the default.
        self._button_state = button_state

    async def deliver(self, delivery: Delivery, rules: Sequence[RuleInfo]) -> SendOutcome:
        """Send one alert; for an ``EDIT`` or ``SOURCES`` delivery edit the message of the
        earlier one; for a ``REPLY`` send a reply threaded to it (a story's late source).

        The alert's keyboard goes with every message that shows the alert itself: an edit
        replaces the message's markup (Telegram drops a keyboard an edit does not repeat), and
        a ``SOURCES`` edit is the story's alert row itself (same id, so its buttons still act on
        it). An edit's keyboard is the one the alert shows now (``button_state``): a mute or an
        unsubscribe pressed before the edit stays on it. A ``REPLY`` is a short note under the
        alert, which keeps its buttons: none."""
        assert delivery.article is not None, "an alert delivery carries its article"
        chat = self._prefs.get(delivery.chat_id) if self._prefs is not None else ChatSettings()
        tz = self._prefs.tz(delivery.chat_id, self._tz) if self._prefs is not None else self._tz
        message = format_delivery(
            delivery,
            {r.id: r for r in rules},
            tz,
            snippet_length=chat.snippet or SnippetLength.NORMAL,
            language=chat.language,
        )
        edit_of = delivery.message_id if delivery.kind.edits_message else None
        reply_to = delivery.message_id if delivery.kind is DeliveryKind.REPLY else None
        buttons = None
        if delivery.kind is not DeliveryKind.REPLY:
            state = (
                await self._button_state(delivery)
                if edit_of is not None and self._button_state is not None
                else AlertButtonState()
            )
            # mute, unsubscribe, not relevant, open the source (bot.delivery.alert_buttons)
            buttons = alert_keyboard(
                delivery.id, delivery.article.link, state, language=chat.language, tz=tz
            )
        return await self.send(
            delivery.chat_id,
            message,
            thread_id=delivery.thread_id,
            edit_of=edit_of,
            reply_to=reply_to,
            delivery_id=delivery.id,
            buttons=buttons,
            link_preview=chat.link_preview,
        )

    async def send_digest(
        self, chat_id: int, messages: Sequence[RenderedMessage], thread_id: int | None = None
    ) -> SendOutcome:
        """Send the pages of a digest (``bot.delivery.folding.format_digest``) in order.

        SENT (with the last page's id) when every page went; otherwise the first failure's
        outcome. Pages sent before a failure are not repeated by this call: the caller decides
        (a retry of the whole digest repeats them, which beats losing the rest).
        """
        outcome = SendOutcome(SendStatus.SENT)
        for page in messages:
            outcome = await self.send(chat_id, page, thread_id=thread_id)
            if outcome.status is not SendStatus.SENT:
                return outcome
        return outcome

    async def send(
        self,
        chat_id: int,
        message: RenderedMessage,
        *,
        thread_id: int | None = None,
        edit_of: int | None = None,
        reply_to: int | None = None,
        buttons: InlineKeyboardMarkup | None = None,
        delivery_id: int | None = None,
        link_preview: bool | None = None,
    ) -> SendOutcome:
        """Send ``message`` (or edit message ``edit_of``) with the fallbacks in the table above,
        and say what happened. Never raises for a Telegram error."""
        where = {"chat": chat_id, "delivery": delivery_id}
        plain = False
        for _ in range(5):  # first try, plain, no topic, as a new message, no buttons
            try:
                sent = await self._request(
                    chat_id, message, plain, thread_id, edit_of, reply_to, buttons, link_preview
                )
            except BadRequest as e:
                text = e.message.lower()
                if "can't parse entities" in text and not plain:
                    log.error(
                        "BUG: Telegram refused our HTML (%s); resending as plain text",
                        e.message,
                        extra=where,
                    )
                    plain = True
                    continue
                if "thread not found" in text and thread_id is not None:
                    log.warning(
                        "forum topic %s is gone; sending to the chat itself", thread_id, extra=where
                    )
                    thread_id = None
                    continue
                if edit_of is not None and "not modified" in text:
                    return SendOutcome(SendStatus.SENT, message_id=edit_of)
                if edit_of is not None and (
                    "message to edit not found" in text or "can't be edited" in text
                ):
                    edit_of = None  # the old message was deleted: send the update as a new one
                    continue
                if buttons is not None and "button" in text:
                    # A keyboard Telegram refuses must not cost the message itself.
                    log.error("BUG: Telegram refused our buttons (%s)", e.message, extra=where)
                    buttons = None
                    continue
                if reply_to is not None and "message to be replied not found" in text:
                    reply_to = None
                    continue
                return self._bad_request_outcome(chat_id, e)
            except TelegramError as e:
                return self._error_outcome(e)
            return SendOutcome(SendStatus.SENT, message_id=sent.message_id)
        return SendOutcome(SendStatus.FAILED, error="refused after every fallback")

    async def send_file(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        caption_html: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SendOutcome:
        """Send ``data`` as a file called ``filename`` with an HTML caption (/export). The only
        call to ``send_document`` in newswatch. Never raises for a Telegram error."""
        try:
            sent = await self._bot.send_document(
                chat_id,
                data,
                filename=filename,
                caption=caption_html,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread_id,
                reply_parameters=ReplyParameters(reply_to) if reply_to is not None else None,
            )
        except BadRequest as e:
            return self._bad_request_outcome(chat_id, e)
        except TelegramError as e:
            return self._error_outcome(e)
        return SendOutcome(SendStatus.SENT, message_id=sent.message_id)

    async def edit_buttons(
        self, chat_id: int, message_id: int, buttons: InlineKeyboardMarkup | None
    ) -> SendOutcome:
        """Replace only the inline keyboard of message ``message_id`` (an alert's, after a
        press). A keyboard that is already so counts as done. Never raises for a Telegram
        error."""
        try:
            await self._bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=buttons
            )
        except BadRequest as e:
            if "not modified" in e.message.lower():
                return SendOutcome(SendStatus.SENT, message_id=message_id)
            return self._bad_request_outcome(chat_id, e)
        except TelegramError as e:
            return self._error_outcome(e)
        return SendOutcome(SendStatus.SENT, message_id=message_id)

    async def _request(
        self,
        chat_id: int,
        message: RenderedMessage,
        plain: bool,
        thread_id: int | None,
        edit_of: int | None,
        reply_to: int | None,
        buttons: InlineKeyboardMarkup | None,
        link_preview: bool | None = None,
    ) -> Message:
        text = message.plain if plain else message.html
        parse_mode = None if plain else ParseMode.HTML
        preview = (
            self._preview
            if link_preview is None or link_preview == self._link_preview
            else LinkPreviewOptions(is_disabled=not link_preview)
        )
        if edit_of is not None:
            edited = await self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=edit_of,
                parse_mode=parse_mode,
                link_preview_options=preview,
                reply_markup=buttons,
            )
            if isinstance(edited, Message):
                return edited
            raise BadRequest("message to edit not found")  # inline messages only; not ours
        return await self._bot.send_message(
            chat_id,
            text,
            parse_mode=parse_mode,
            disable_notification=message.disable_notification,
            message_thread_id=thread_id,
            link_preview_options=preview,
            reply_parameters=ReplyParameters(reply_to) if reply_to is not None else None,
            reply_markup=buttons,
        )

    async def send_chart(
        self,
        chat_id: int,
        png: bytes,
        caption: RenderedMessage,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SendOutcome:
        """Send ``png`` as a photo with ``caption`` (Telegram HTML, at most 1,024 visible
        characters: the caller's to keep), with the fallbacks of ``send`` that apply to a new
        message (plain caption, no topic, no reply). Never raises for a Telegram error."""
        where = {"chat": chat_id}
        plain = False
        for _ in range(4):  # first try, plain caption, without the topic, without the reply
            try:
                sent = await self._bot.send_photo(
                    chat_id,
                    InputFile(png, filename="trend.png"),
                    caption=caption.plain if plain else caption.html,
                    parse_mode=None if plain else ParseMode.HTML,
                    disable_notification=caption.disable_notification,
                    message_thread_id=thread_id,
                    reply_parameters=ReplyParameters(reply_to) if reply_to is not None else None,
                )
            except BadRequest as e:
                text = e.message.lower()
                if "can't parse entities" in text and not plain:
                    log.error("BUG: Telegram refused our caption HTML (%s)", e.message, extra=where)
                    plain = True
                    continue
                if "thread not found" in text and thread_id is not None:
                    thread_id = None
                    continue
                if reply_to is not None and "message to be replied not found" in text:
                    reply_to = None
                    continue
                return self._bad_request_outcome(chat_id, e)
            except TelegramError as e:
                return self._error_outcome(e)
            return SendOutcome(SendStatus.SENT, message_id=sent.message_id)
        return SendOutcome(SendStatus.FAILED, error="refused after every fallback")

    def _bad_request_outcome(self, chat_id: int, e: BadRequest) -> SendOutcome:
        text = e.message.lower()
        if "chat not found" in text or "peer_id_invalid" in text:
            return SendOutcome(SendStatus.CHAT_GONE, error=e.message)
        log.error("Telegram refused an alert: %s", e.message, extra={"chat": chat_id})
        return SendOutcome(SendStatus.FAILED, error=e.message)

    def _error_outcome(self, e: TelegramError) -> SendOutcome:
        if isinstance(e, RetryAfter):
            # The rate limiter has already held the chat in the pacer for this long.
            return SendOutcome(
                SendStatus.RETRY, retry_after_s=retry_after_seconds(e), error=e.message
            )
        if isinstance(e, Forbidden):
            return SendOutcome(SendStatus.CHAT_GONE, error=e.message)
        if isinstance(e, ChatMigrated):
            return SendOutcome(
                SendStatus.RETRY, retry_after_s=0.0, new_chat_id=e.new_chat_id, error=e.message
            )
        if isinstance(e, TimedOut):
            # Ambiguous: Telegram may have delivered it. A duplicate beats a lost alert.
            return SendOutcome(SendStatus.RETRY, error=f"timed out: {e.message}")
        if isinstance(e, NetworkError):
            return SendOutcome(SendStatus.RETRY, error=f"network error: {e.message}")
        # InvalidToken, Conflict, EndPointNotFound...: not this message's fault; keep it.
        return SendOutcome(SendStatus.RETRY, error=f"{type(e).__name__}: {e.message}")
