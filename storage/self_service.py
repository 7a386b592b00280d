"""The self-service records (#16) the storage seam hands out: a personal rule saved from the
chat, an alert marked "not relevant", what an alert's buttons act on; and the id a new
personal rule is given. Plain data: reads and writes nothing (``storage.base`` re-exports them
with the protocol that returns them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PersonalRule:
    """A rule a chat saved from the chat (``/watch``): the chat that owns it now, its number in
    that chat, name and query in the rule language, and ``rule_id``, the id it is matched,
    subscribed, muted and marked under. The id is given once, when the rule is saved
    (``personal_rule_id`` of the chat and number it was saved as), and kept for the rule's
    whole life: when its group becomes a supergroup the rule moves to the new chat id (and may
    get another number there) but keeps its id, so the chat in an id is not the owner's."""

    chat_id: int
    number: int
    name: str
    query: str
    paused: bool
    created_by: int | None
    created_at: datetime
    rule_id: str


def personal_rule_id(chat_id: int, number: int) -> str:
    """The id a personal rule gets when it is saved as rule ``number`` of ``chat_id``:
    ``u<chat>-<number>`` (``rules.PERSONAL_ID_RE``). Only for a new rule: a stored rule's id is
    its ``PersonalRule.rule_id``, which a migration of its chat does not change."""
    return f"u{chat_id}-{number}"


@dataclass(frozen=True, slots=True)
class Feedback:
    """An alert someone marked "not relevant": which rule, which article, who and when."""

    chat_id: int
    rule_id: str
    article_identity: str
    title: str
    link: str | None
    user_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlertRef:
    """What an alert's buttons act on: its chat (and topic), the rules that matched, the
    article (identity, title, link). Read from the outbox row the alert was sent from."""

    delivery_id: int
    chat_id: int
    thread_id: int | None
    rule_ids: tuple[str, ...]
    article_identity: str
    title: str
    link: str | None
