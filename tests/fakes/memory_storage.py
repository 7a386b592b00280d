"""An in-memory stand-in for the chat-facing part of the ``Storage`` protocol.

Honest and small: chats, subscriptions (mode, digest schedule, topic, mute), feeds
(``sync_feeds``, ``save_feed_state``), articles and matches (``ingest``, which also counts the
deliveries it would queue), with the return values and edge cases the protocol documents (False
when already subscribed...). Tests put data in through the protocol, so the same tests run
against the real SqlStorage. The polling schedule and the outbox rows themselves are not kept
here (``NotImplementedError`` says so if such a method is called).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, TextIO

from core.errors import StorageError
from core.models import (
    Article,
    Chat,
    ChatSettings,
    ChatType,
    DeliveryMode,
    FeedConfig,
    FeedState,
    RenderedMessage,
    RuleMatch,
    StorySource,
)
from storage.base import (
    Feedback,
    IngestResult,
    IngestStatus,
    PersonalRule,
    StoredMatch,
    StoryView,
    Subscription,
    personal_rule_id,
)
from storage.explain import Explainer


@dataclass(slots=True)
class _Sub:
    mode: DeliveryMode = DeliveryMode.INSTANT
    digest_schedule: str | None = None
    thread_id: int | None = None
    digest_sent_at: datetime | None = None


class MemoryStorage:
    """Chats, subscriptions, feeds and matches in dicts. Not thread-safe; one event loop."""

    def __init__(self) -> None:
        self.chats: dict[int, Chat] = {}
        self.subs: dict[int, dict[str, _Sub]] = {}
        self.muted: dict[int, datetime | None] = {}
        self.feeds: dict[str, FeedState] = {}
        self.articles: dict[int, Article] = {}
        self.matches: list[StoredMatch] = []
        self.pending: dict[int, int] = {}
        self.migrations: list[tuple[int, int]] = []
        # self-service (#16)
        self.personal: dict[tuple[int, int], PersonalRule] = {}
        self.personal_numbers: dict[int, int] = {}  # per chat, the highest number ever given
        self.rule_mutes: dict[tuple[int, str], tuple[datetime, datetime]] = {}  # began, until
        self.feedbacks: list[Feedback] = []
        self.digests: list[tuple[int, tuple[str, ...], list[RenderedMessage]]] = []
        self.settings: dict[int, ChatSettings] = {}
        self.stories_separate: set[int] = set()

    # lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # feeds ---------------------------------------------------------------------------------
    async def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        wanted = {f.url: f for f in feeds}
        for url in list(self.feeds):
            if url not in wanted:
                del self.feeds[url]
        for url, f in wanted.items():
            old = self.feeds.get(url) or FeedState(url=url, next_check_at=now)
            self.feeds[url] = replace(
                old,
                name=f.name,
                tags=f.tags,
                interval_s=f.interval_s,
                full_text=f.full_text,
                enabled=f.enabled,
            )

    async def save_feed_state(self, state: FeedState) -> None:
        self.feeds[state.url] = state

    async def list_feeds(self) -> list[FeedState]:
        return [self.feeds[url] for url in sorted(self.feeds)]

    async def get_feed(self, url: str) -> FeedState | None:
        return self.feeds.get(url)

    # articles and matches -------------------------------------------------------------------
    async def ingest(
        self, article: Article, matches: Sequence[RuleMatch], now: datetime, *, alert: bool = True
    ) -> IngestResult:
        known = next((i for i, a in self.articles.items() if a.identity == article.identity), None)
        if known is not None:
            old = self.articles[known]
            changed = old.text_fields != article.text_fields
            self.articles[known] = article
            status = IngestStatus.UPDATED if changed else IngestStatus.UNCHANGED
            return IngestResult(known, status, 0, 0)
        article_id = len(self.articles) + 1
        self.articles[article_id] = article
        rule_ids = list(dict.fromkeys(m.rule_id for m in matches))
        for rule_id in rule_ids:
            self.matches.append(
                StoredMatch(
                    rule_id=rule_id,
                    article_id=article_id,
                    title=article.title,
                    link=article.link,
                    feed_url=article.feed_url,
                    matched_at=now,
                    published_at=article.published_at,
                    hits=next(m.hits for m in matches if m.rule_id == rule_id),
                )
            )
        deliveries = 0
        if alert:
            for chat_id, subs in self.subs.items():
                chat = self.chats.get(chat_id)
                muted = self.muted.get(chat_id)
                if (chat is not None and not chat.active) or (muted is not None and muted > now):
                    continue
                if any(
                    r in subs
                    and subs[r].mode is DeliveryMode.INSTANT
                    and not self._rule_muted(chat_id, r, now)
                    for r in rule_ids
                ):
                    self.pending[chat_id] = self.pending.get(chat_id, 0) + 1
                    deliveries += 1
        return IngestResult(article_id, IngestStatus.NEW, len(rule_ids), deliveries)

    # chats ---------------------------------------------------------------------------------
    async def upsert_chat(self, chat: Chat) -> None:
        old = self.chats.get(chat.id)
        if old is not None and old.migrated_to is not None and chat.migrated_to is None:
            chat = replace(chat, migrated_to=old.migrated_to)
        self.chats[chat.id] = chat

    async def get_chat(self, chat_id: int) -> Chat | None:
        return self.chats.get(chat_id)

    async def set_chat_active(
        self, chat_id: int, active: bool, *, now: datetime | None = None
    ) -> None:
        chat = self.chats.get(chat_id) or Chat(id=chat_id)
        self.chats[chat_id] = replace(chat, active=active)

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        self.migrations.append((old_chat_id, new_chat_id))
        old = self.chats.get(old_chat_id) or Chat(id=old_chat_id, type=ChatType.GROUP)
        self.chats[old_chat_id] = replace(old, active=False, migrated_to=new_chat_id)
        self.chats.setdefault(
            new_chat_id, Chat(id=new_chat_id, type=ChatType.SUPERGROUP, title=old.title)
        )
        moved = self.subs.pop(old_chat_id, {})
        self.subs.setdefault(new_chat_id, {}).update(moved)
        for chat, rule_id in [k for k in self.rule_mutes if k[0] == old_chat_id]:
            mute = self.rule_mutes.pop((chat, rule_id))
            self.rule_mutes.setdefault((new_chat_id, rule_id), mute)
        # "not relevant" marks too (one per chat, rule and article: the new id's wins)
        theirs = {
            (f.rule_id, f.article_identity) for f in self.feedbacks if f.chat_id == new_chat_id
        }
        self.feedbacks = [
            replace(f, chat_id=new_chat_id) if f.chat_id == old_chat_id else f
            for f in self.feedbacks
            if f.chat_id != old_chat_id or (f.rule_id, f.article_identity) not in theirs
        ]
        # personal rules move with their ids (as SqlStorage: a taken number goes after the top)
        taken = {n for c, n in self.personal if c == new_chat_id}
        for key in sorted(k for k in self.personal if k[0] == old_chat_id):
            number = key[1] if key[1] not in taken else max(taken) + 1
            taken.add(number)
            rule = self.personal.pop(key)
            self.personal[(new_chat_id, number)] = replace(rule, chat_id=new_chat_id, number=number)
        if old_chat_id in self.muted:
            self.muted[new_chat_id] = self.muted.pop(old_chat_id)
        self.pending[new_chat_id] = self.pending.get(new_chat_id, 0) + self.pending.pop(
            old_chat_id, 0
        )

    async def mute_chat(self, chat_id: int, until: datetime | None) -> None:
        self.muted[chat_id] = until

    # subscriptions -------------------------------------------------------------------------
    async def subscribe(self, chat_id: int, rule_id: str, thread_id: int | None = None) -> bool:
        subs = self.subs.setdefault(chat_id, {})
        if rule_id in subs:
            if thread_id is not None:  # as SqlStorage: a repeat from a topic moves alerts there
                subs[rule_id] = replace(subs[rule_id], thread_id=thread_id)
            return False
        subs[rule_id] = _Sub(thread_id=thread_id)
        return True

    async def unsubscribe(self, chat_id: int, rule_id: str) -> bool:
        return self.subs.get(chat_id, {}).pop(rule_id, None) is not None

    async def subscriptions(self, chat_id: int) -> list[str]:
        return sorted(self.subs.get(chat_id, {}))

    async def set_subscription_mode(
        self,
        chat_id: int,
        rule_id: str,
        mode: DeliveryMode,
        digest_schedule: str | None = None,
        *,
        now: datetime | None = None,
    ) -> bool:
        sub = self.subs.get(chat_id, {}).get(rule_id)
        if sub is None:
            return False
        if mode is not DeliveryMode.DIGEST:
            sub.digest_sent_at = None
        elif sub.mode is not DeliveryMode.DIGEST or sub.digest_sent_at is None:
            sub.digest_sent_at = now or datetime.now(UTC)
        sub.mode = mode
        sub.digest_schedule = digest_schedule if mode is DeliveryMode.DIGEST else None
        return True

    async def subscription_details(self, chat_id: int) -> list[Subscription]:
        muted = self.muted.get(chat_id)
        return [
            Subscription(
                chat_id=chat_id,
                rule_id=rule_id,
                mode=sub.mode,
                digest_schedule=sub.digest_schedule,
                thread_id=sub.thread_id,
                muted_until=(
                    self.rule_mutes[(chat_id, rule_id)][1]
                    if (chat_id, rule_id) in self.rule_mutes
                    else muted
                ),
                digest_sent_at=sub.digest_sent_at,
            )
            for rule_id, sub in sorted(self.subs.get(chat_id, {}).items())
        ]

    async def pending_count(self, chat_id: int | None = None) -> int:
        if chat_id is None:
            return sum(self.pending.values())
        return self.pending.get(chat_id, 0)

    async def subscribed_rule_ids(self) -> list[str]:
        return sorted({rule_id for subs in self.subs.values() for rule_id in subs})

    # queries -------------------------------------------------------------------------------
    async def recent_matches(
        self, rule_id: str | None = None, chat_id: int | None = None, limit: int = 10
    ) -> list[StoredMatch]:
        rules: set[str] | None = None
        if chat_id is not None:
            rules = set(self.subs.get(chat_id, {}))
        found = [
            m
            for m in self.matches
            if (rule_id is None or m.rule_id == rule_id) and (rules is None or m.rule_id in rules)
        ]
        found.sort(key=lambda m: m.matched_at, reverse=True)
        return found[:limit]

    async def match_counts_per_day(self, since: datetime) -> list[tuple[str, date, int]]:
        counts: dict[tuple[str, date], int] = {}
        for m in self.matches:
            if m.matched_at >= since:
                key = (m.rule_id, m.matched_at.date())
                counts[key] = counts.get(key, 0) + 1
        return [(rule, day, n) for (rule, day), n in sorted(counts.items())]

    async def due_digest_items(
        self,
        chat_id: int,
        rule_ids: Sequence[str],
        since: datetime,
        until: datetime | None = None,
    ) -> list[StoredMatch]:
        wanted = set(rule_ids)
        found = [
            m
            for m in self.matches
            if m.rule_id in wanted
            and m.matched_at > since
            and (until is None or m.matched_at <= until)
        ]
        return sorted(found, key=lambda m: m.matched_at)

    # self-service (#16) ------------------------------------------------------------------------
    def _rule_muted(self, chat_id: int, rule_id: str, now: datetime) -> bool:
        mute = self.rule_mutes.get((chat_id, rule_id))
        return mute is not None and mute[1] > now

    async def add_personal_rule(
        self,
        chat_id: int,
        name: str,
        query: str,
        *,
        limit: int,
        created_by: int | None,
        now: datetime,
    ) -> PersonalRule | None:
        numbers = [n for c, n in self.personal if c == chat_id]
        if len(numbers) >= limit:
            return None
        # above every number the chat was ever given, as SqlStorage: its id is free too
        number = max(*numbers, self.personal_numbers.get(chat_id, 0), 0) + 1
        self.personal_numbers[chat_id] = number
        rule = PersonalRule(
            chat_id,
            number,
            name,
            query,
            False,
            created_by,
            now,
            personal_rule_id(chat_id, number),
        )
        self.personal[(chat_id, rule.number)] = rule
        return rule

    async def personal_rules(self, chat_id: int | None = None) -> list[PersonalRule]:
        return [
            r for key, r in sorted(self.personal.items()) if chat_id is None or key[0] == chat_id
        ]

    async def personal_rule(self, rule_id: str) -> PersonalRule | None:
        return next((r for r in self.personal.values() if r.rule_id == rule_id), None)

    async def update_personal_rule(
        self,
        chat_id: int,
        number: int,
        *,
        query: str | None = None,
        name: str | None = None,
        paused: bool | None = None,
        now: datetime,
    ) -> PersonalRule | None:
        rule = self.personal.get((chat_id, number))
        if rule is None:
            return None
        rule = replace(
            rule,
            query=rule.query if query is None else query,
            name=rule.name if name is None else name,
            paused=rule.paused if paused is None else paused,
        )
        self.personal[(chat_id, number)] = rule
        return rule

    async def delete_personal_rule(self, chat_id: int, number: int) -> PersonalRule | None:
        return self.personal.pop((chat_id, number), None)

    async def mute_rule(
        self, chat_id: int, rule_id: str, until: datetime | None, now: datetime
    ) -> bool:
        if rule_id not in self.subs.get(chat_id, {}):
            return False
        began = self.rule_mutes.get((chat_id, rule_id), (now, now))[0]
        self.rule_mutes[(chat_id, rule_id)] = (began, until or datetime(9999, 1, 1, tzinfo=UTC))
        return True

    async def unmute_rule(self, chat_id: int, rule_id: str) -> datetime | None:
        mute = self.rule_mutes.pop((chat_id, rule_id), None)
        return mute[0] if mute is not None else None

    async def expired_rule_mutes(self, now: datetime) -> list[tuple[int, str]]:
        return [
            key
            for key, (_began, until) in sorted(self.rule_mutes.items(), key=lambda kv: kv[1][0])
            if until <= now or key[1] not in self.subs.get(key[0], {})
        ]

    async def add_feedback(self, feedback: Feedback) -> bool:
        key = (feedback.chat_id, feedback.rule_id, feedback.article_identity)
        if any((f.chat_id, f.rule_id, f.article_identity) == key for f in self.feedbacks):
            return False
        self.feedbacks.append(feedback)
        return True

    async def feedback(self, rule_ids: Sequence[str] | None = None) -> list[Feedback]:
        found = [f for f in self.feedbacks if rule_ids is None or f.rule_id in rule_ids]
        return sorted(found, key=lambda f: f.created_at, reverse=True)

    async def chat_settings(self) -> dict[int, ChatSettings]:
        return dict(self.settings)

    async def save_chat_settings(self, chat_id: int, settings: ChatSettings, now: datetime) -> None:
        if settings == ChatSettings():
            self.settings.pop(chat_id, None)
        else:
            self.settings[chat_id] = settings

    async def queue_digest(
        self,
        chat_id: int,
        thread_id: int | None,
        rule_ids: Sequence[str],
        period_end: datetime,
        pages: Sequence[RenderedMessage],
        now: datetime,
    ) -> int:
        self.digests.append((chat_id, tuple(rule_ids), list(pages)))
        self.pending[chat_id] = self.pending.get(chat_id, 0) + 1
        return len(self.digests)

    # stories: no grouping here (articles have no story); a chat's choice is kept ------------
    async def set_chat_stories_separate(self, chat_id: int, separate: bool) -> bool:
        if chat_id not in self.chats:
            return False
        (self.stories_separate.add if separate else self.stories_separate.discard)(chat_id)
        return True

    async def chat_stories_separate(self, chat_id: int) -> bool:
        return chat_id in self.stories_separate

    async def split_article(self, article_id: int, now: datetime) -> StoryView:
        raise StorageError(f"article {article_id} is not in a story")

    async def splits_since(self, since: datetime) -> list[StoryView]:
        return []

    async def stories_of_articles(self, article_ids: Sequence[int]) -> dict[int, int]:
        return {}

    async def story_sources(self, story_ids: Sequence[int]) -> dict[int, tuple[StorySource, ...]]:
        return {}

    async def sources_by_identity(
        self, identities: Sequence[str]
    ) -> dict[str, tuple[StorySource, ...]]:
        return {}

    # not needed by the Telegram side ----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"MemoryStorage does not implement {name}")

    async def export_matches(
        self,
        out: TextIO,
        fmt: str,
        start: datetime | None = None,
        end: datetime | None = None,
        rule_ids: Sequence[str] | None = None,
        explain: Explainer | None = None,
    ) -> int:
        raise NotImplementedError("MemoryStorage does not implement export_matches")

    async def iter_articles(
        self, batch: int = 500
    ) -> AsyncIterator[tuple[Article, tuple[str, ...]]]:
        for article_id in sorted(self.articles):
            rule_ids = tuple(m.rule_id for m in self.matches if m.article_id == article_id)
            yield self.articles[article_id], rule_ids
