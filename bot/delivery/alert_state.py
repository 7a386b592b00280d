"""What an alert's keyboard should show, read back from storage: whether the chat muted the
alert's rules (and until when), unsubscribed from them, or marked the story not relevant.

The one place that derives an ``AlertButtonState``: a press redraws the keyboard from it
(``bot.telegram.handlers.alert_buttons``), and so does every edit of the alert
(``TelegramSink.deliver`` for an ``EDIT`` or ``SOURCES`` row: Telegram drops a keyboard an edit
does not repeat, so the edit repeats the keyboard as it stands, not the default one). Reads
storage only: changes nothing and sends nothing.
"""

from __future__ import annotations

from bot.delivery.alert_buttons import AlertButtonState
from bot.services import Services
from core.models import Delivery
from storage.base import AlertRef

FOREVER_YEAR = 9999  # storage keeps "muted until unmuted" as a date in this year


async def button_state(services: Services, ref: AlertRef) -> AlertButtonState:
    """The state of the keyboard of the alert ``ref`` in its chat, now."""
    storage = services.storage
    subs = {
        s.rule_id: s
        for s in await storage.subscription_details(ref.chat_id)
        if s.rule_id in ref.rule_ids
    }
    now = services.clock.now()
    ends = [s.muted_until for s in subs.values() if s.muted_until and s.muted_until > now]
    muted = bool(ends) and len(ends) == len(subs)
    end = max(ends) if muted else None
    until = end if end is not None and end.year < FOREVER_YEAR else None
    tz = services.chat_prefs.tz(ref.chat_id, services.settings.tz)
    another_day = until is not None and until.astimezone(tz).date() != now.astimezone(tz).date()
    marked = any(
        f.chat_id == ref.chat_id and f.article_identity == ref.article_identity
        for f in await storage.feedback(list(ref.rule_ids))
    )
    return AlertButtonState(
        muted=muted,
        muted_until=until,
        ends_another_day=another_day,
        unsubscribed=not subs,
        not_relevant=marked,
    )


class AlertStates:
    """``button_state`` for an outbox row that shows an alert (the sink calls it for an edit).
    The row is read back as a press reads it (``Storage.alert_ref``: the same rules, chat and
    article the buttons act on); a row that is not there (a storage without it) stands for
    itself, from what the delivery carries."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def __call__(self, delivery: Delivery) -> AlertButtonState:
        article = delivery.article
        if article is None:  # not an alert: nothing was done from its keyboard
            return AlertButtonState()
        ref = await self._services.storage.alert_ref(delivery.id) or AlertRef(
            delivery_id=delivery.id,
            chat_id=delivery.chat_id,
            thread_id=delivery.thread_id,
            rule_ids=tuple(dict.fromkeys(m.rule_id for m in delivery.matches)),
            article_identity=article.identity,
            title=article.title,
            link=article.link,
        )
        return await button_state(self._services, ref)
