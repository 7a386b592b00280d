"""Typed values that travel along the data path: feed -> article -> match -> delivery.

These are plain frozen dataclasses (and one named tuple, `Hit`). They hold no behaviour beyond
small derived properties and do no I/O; every package (watchers, rules, storage, bot) speaks in
these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class DeliveryMode(StrEnum):
    """How a rule's (or a subscription's) matches reach a chat."""

    INSTANT = "instant"
    DIGEST = "digest"


class DeliveryKind(StrEnum):
    """What an outbox row sends: one alert, the edit of an earlier alert's message, a scheduled
    digest, a notice to an admin, or a trend alert (a rule's spike: a chart with a caption)."""

    ALERT = "alert"
    EDIT = "edit"
    DIGEST = "digest"
    NOTICE = "notice"
    # Stories (docs/stories.md): the story's alert edited to list a source that joined it, and,
    # once that alert is too old to edit, a short reply threaded to it naming the new source.
    SOURCES = "sources"
    REPLY = "reply"
    TREND = "trend"

    @property
    def edits_message(self) -> bool:
        """True when the row edits the message in ``Delivery.message_id`` instead of sending."""
        return self in (DeliveryKind.EDIT, DeliveryKind.SOURCES)


class StoryMode(StrEnum):
    """How a rule's (or a chat's) alerts treat stories: one alert per story, listing its
    sources as they come in (``group``), or one alert per article (``separate``)."""

    GROUP = "group"
    SEPARATE = "separate"


class DeliveryState(StrEnum):
    """Where an outbox row is: waiting, in flight (recorded before the request), or done."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good
    CANCELLED = "cancelled"  # no longer wanted (the chat unsubscribed, or the row was replaced)

    @property
    def unfinished(self) -> bool:
        return self in (DeliveryState.PENDING, DeliveryState.SENDING)


class ChatType(StrEnum):
    """Telegram's chat types, plus the console that stands in for a chat without a token."""

    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"
    CONSOLE = "console"

    @classmethod
    def parse(cls, value: str) -> ChatType:
        """The type for Telegram's (or storage's) spelling; unknown spellings count as private."""
        try:
            return cls(value)
        except ValueError:
            return cls.PRIVATE


class Priority(StrEnum):
    """High-priority alerts notify with sound; the others arrive silently."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """A feed as the operator configured it in ``config/feeds.yaml``."""

    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    interval_s: float | None = None  # None: the global default interval
    full_text: bool = False
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class FeedState:
    """What storage remembers about a feed between polls: validators, schedule and health."""

    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    interval_s: float | None = None
    full_text: bool = False
    enabled: bool = True
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # sha256 of the last body, to skip re-parsing identical bodies
    next_check_at: datetime | None = None
    last_checked_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_errors: int = 0
    items_seen: int = 0
    avg_new_item_interval_s: float | None = None
    first_poll_done: bool = False
    disabled_reason: str | None = None  # e.g. "410 Gone"; None while the feed is active
    health_reported_at: datetime | None = None
    # Where a permanent redirect (301/308, every hop) sent the feed; polls use it instead of url,
    # which stays the key the operator configured.
    redirected_to: str | None = None
    failing_since: datetime | None = None  # first error after the last success; None when healthy


@dataclass(frozen=True, slots=True)
class Article:
    """One news item, cleaned into plain text, with a stable identity.

    ``identity`` is the key that makes an article unique across feeds: ``guid:<id>`` when the
    feed gives one, else ``link:<normalised url>``, else ``hash:<sha256 of title+content>``.
    ``link_key`` and ``title_key`` let storage recognise an item whose guid changed but whose
    link and title did not. Times are timezone-aware UTC.
    """

    feed_url: str
    identity: str
    title: str
    link: str | None = None
    summary: str = ""
    content: str = ""
    author: str | None = None
    published_at: datetime | None = None
    guid: str | None = None
    link_key: str | None = None
    feed_name: str | None = None

    @property
    def text_fields(self) -> dict[str, str]:
        """The fields rules can match on, by name."""
        return {"title": self.title, "summary": self.summary, "content": self.content}


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One message ready to send: Telegram HTML, the same as plain text (the fallback when
    Telegram refuses the HTML), and whether it arrives silently."""

    html: str
    plain: str
    disable_notification: bool


class Hit(NamedTuple):
    """One matched term: which term, in which field, at which offsets of the original text.

    A named tuple rather than a frozen dataclass: the rule engine creates one per matched
    occurrence, and a tuple is made in half the time (no ``object.__setattr__`` per field)."""

    term: str
    field: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that fired on an article, and why (its hits)."""

    rule_id: str
    hits: tuple[Hit, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What users see of a rule in ``/rules`` and in alerts."""

    id: str
    name: str
    description: str = ""
    priority: Priority = Priority.NORMAL
    mode: DeliveryMode = DeliveryMode.INSTANT
    tags: tuple[str, ...] = ()
    stories: StoryMode = StoryMode.GROUP


@dataclass(frozen=True, slots=True)
class Chat:
    """A Telegram chat the bot talks to."""

    id: int
    type: ChatType = ChatType.PRIVATE
    title: str | None = None
    language: str | None = None
    active: bool = True
    migrated_to: int | None = None  # set when a group became a supergroup with this new id


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message in the outbox, for one chat. An ``ALERT`` (or its ``EDIT``) carries its
    article and the rules that matched it, and is rendered when sent; a ``DIGEST`` or a
    ``NOTICE`` was rendered when it was queued and carries its ``pages`` (no article); a
    ``TREND`` carries its caption as its one page and its chart as PNG bytes in ``image``."""

    id: int
    chat_id: int
    article: Article | None
    matches: tuple[RuleMatch, ...] = ()
    thread_id: int | None = None
    attempts: int = 0
    state: DeliveryState = DeliveryState.PENDING
    created_at: datetime | None = None
    message_id: int | None = None  # for an EDIT: the message to edit
    kind: DeliveryKind = DeliveryKind.ALERT
    pages: tuple[RenderedMessage, ...] = ()
    # A story's alert: every source of the story that matched the row's rules, first source
    # first (empty when the alert is not a story's, or the story has one source). For a
    # ``REPLY``: the sources the reply announces.
    sources: tuple[StorySource, ...] = ()
    image: bytes | None = None  # a TREND's chart (PNG)


@dataclass(frozen=True, slots=True)
class StorySource:
    """One article of a story as alerts list it: which outlet, which headline, where."""

    article_id: int
    title: str
    link: str | None
    feed_url: str
    feed_name: str | None = None  # shown as the source (else the link's host)
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoryPlacement:
    """Which story the grouping put a new article in, handed to storage with the article.

    ``key`` is the engine's story key (the founding article's identity, or ``split:...``);
    ``why`` the decision as JSON (reason, founder compared with, score, signals) for
    ``newswatch stories show``; ``separate_rules`` the article's matched rules that ask for
    one alert per article (``stories: separate``)."""

    key: str
    why: str
    separate_rules: frozenset[str] = frozenset()


# Per-chat settings (#16) ---------------------------------------------------------------------


class Language(StrEnum):
    """The language of the bot's own messages in a chat (feeds' text is never translated)."""

    EN = "en"
    VI = "vi"


class SnippetLength(StrEnum):
    """How much of the story an alert quotes: no snippet, one sentence, up to three."""

    OFF = "off"
    SHORT = "short"
    NORMAL = "normal"
    LONG = "long"


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """One chat's choices (``/settings``); None means "the bot's default" for each."""

    timezone: str | None = None  # an IANA name; default NEWSWATCH_TIMEZONE
    link_preview: bool | None = None  # default: off
    snippet: SnippetLength | None = None  # default: normal
    language: Language | None = None  # default: English
    digest_days: tuple[int, ...] | None = None  # weekdays (Monday 0) digests go out; default all
