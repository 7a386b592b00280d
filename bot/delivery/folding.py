"""Flood folding and digests: many alerts for one chat become one message, grouped by rule.

``should_fold`` decides, from one chat's pending deliveries, whether to send them one by one or
fold them into a digest (more than ``threshold`` created within ``window_s`` of each other: a
flood). ``format_digest`` renders digest items, grouped by rule, as one or more Telegram
messages of at most ~4,000 characters each, and returns nothing when there is nothing.
Scheduled digests (``/digest RULE hourly``) use the same formatter with items built from stored
matches. The bot's own words (heading, "updated", "N sources", dates) are in the chat's
language (``bot.i18n``); headlines and outlets are shown as they are.

Pure: no I/O, no Telegram or storage calls. The outbox sender decides what to do with the answer.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import bot.i18n as i18n
from bot.delivery.alert_format import (
    clean_text,
    isolate,
    rule_tags,
    safe_link,
    shorten,
    source_name,
)
from bot.delivery.alert_format import utf16_len as _utf16_len
from bot.i18n.forms import counted, moment
from core.models import Delivery, DeliveryKind, Language, Priority, RenderedMessage, RuleInfo
from storage.base import StoredMatch

DIGEST_PAGE_MAX = 4000  # visible characters per digest message (Telegram allows 4,096)
DIGEST_TITLE_MAX = 160


@dataclass(frozen=True, slots=True)
class FoldPolicy:
    """More than ``threshold`` alerts for one chat within ``window_s`` seconds is a flood."""

    threshold: int = 5
    window_s: float = 60.0


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One article in a digest, listed once under its first rule."""

    rule_ids: tuple[str, ...]
    title: str
    link: str | None
    source: str
    published_at: datetime | None
    updated: bool = False  # an edit of an article already alerted
    also: tuple[str, ...] = ()  # the other sources of its story (issue #13), in order


def should_fold(pending: Sequence[Delivery], policy: FoldPolicy = FoldPolicy()) -> bool:
    """True when more than ``policy.threshold`` of one chat's pending deliveries were created
    within ``policy.window_s`` of each other. Deliveries without ``created_at`` count as
    created together (a burst). Callers pass one chat's (and one topic's) deliveries."""
    if len(pending) <= policy.threshold:
        return False
    times = sorted(d.created_at for d in pending if d.created_at is not None)
    undated = len(pending) - len(times)
    if undated > policy.threshold:
        return True
    window = timedelta(seconds=policy.window_s)
    first = 0
    for last, when in enumerate(times):
        while when - times[first] > window:
            first += 1
        if last - first + 1 + undated > policy.threshold:
            return True
    return False


def items_from_deliveries(deliveries: Sequence[Delivery]) -> list[DigestItem]:
    """Digest items for folded alert deliveries, in order; one per article (deliveries that
    carry no article, digests and notices, are never folded and are skipped)."""
    items: list[DigestItem] = []
    seen: set[str] = set()
    for d in deliveries:
        article = d.article
        if article is None or article.identity in seen:
            continue
        seen.add(article.identity)
        items.append(
            DigestItem(
                rule_ids=tuple(m.rule_id for m in d.matches),
                title=article.title,
                link=article.link,
                source=source_name(article),
                published_at=article.published_at,
                updated=d.kind is DeliveryKind.EDIT,
                # a story's alert folded into the flood still names its other sources
                also=tuple(
                    s.feed_name or _host_of(s.link) or _host_of(s.feed_url) for s in d.sources[1:]
                ),
            )
        )
    return items


def items_from_matches(
    matches: Sequence[StoredMatch], story_of: Mapping[int, int] | None = None
) -> list[DigestItem]:
    """Digest items for a scheduled digest; an article matched by several rules appears once,
    and with ``story_of`` (article id -> story id) a story appears once, as its first article,
    naming the other sources (``DigestItem.also``)."""
    story_of = story_of or {}
    by_article: dict[object, tuple[list[str], StoredMatch, list[str]]] = {}
    for m in matches:
        key: object = m.article_id if m.article_id is not None else (m.link, m.title)
        if m.article_id is not None and m.article_id in story_of:
            key = ("story", story_of[m.article_id])
        if key in by_article:
            rule_ids, first, also = by_article[key]
            if m.rule_id not in rule_ids:
                rule_ids.append(m.rule_id)
            source = _host_of(m.link) or _host_of(m.feed_url)
            if m.article_id != first.article_id and source not in also:
                also.append(source)
        else:
            by_article[key] = ([m.rule_id], m, [])
    items = []
    for rule_ids, m, also in by_article.values():
        host = _host_of(m.link) or _host_of(m.feed_url)
        items.append(
            DigestItem(
                rule_ids=tuple(rule_ids),
                title=m.title,
                link=m.link,
                source=host,
                published_at=m.published_at or m.matched_at,
                also=tuple(also),
            )
        )
    return items


def _host_of(url: str | None) -> str:
    if not url:
        return ""
    try:
        return (urlsplit(url).hostname or "").removeprefix("www.")
    except ValueError:
        return ""


def format_digest(
    items: Sequence[DigestItem],
    rules: Mapping[str, RuleInfo],
    tz: ZoneInfo,
    *,
    heading: str | None = None,
    language: Language | None = None,
) -> list[RenderedMessage]:
    """Render ``items`` grouped by their first rule (rules in first-seen order), as messages of
    at most ``DIGEST_PAGE_MAX`` visible characters, with the bot's words in ``language`` (the
    caller's ``heading`` too: it is the caller's to translate). ``[]`` when ``items`` is empty.
    Silent unless a high-priority rule is among them."""
    if not items:
        return []
    groups: dict[str, list[DigestItem]] = {}
    for item in items:
        groups.setdefault(item.rule_ids[0] if item.rule_ids else "", []).append(item)
    head = heading or counted(language, "digest.heading_new", len(items))
    lines: list[tuple[str, str]] = []  # (html, plain)
    for rule_id, group in groups.items():
        info = rules.get(rule_id)
        tag = (rule_tags([rule_id]) or ["#rule"])[0]
        name = clean_text(info.name) if info is not None and info.name != rule_id else ""
        label = f"{tag} — {name} ({len(group)})" if name else f"{tag} ({len(group)})"
        lines.append((f"\n<b>{html.escape(label, quote=False)}</b>", f"\n{label}"))
        for item in group:
            lines.append(_item_line(item, tz, language))
    silent = not any(
        (info := rules.get(r)) is not None and info.priority is Priority.HIGH
        for item in items
        for r in item.rule_ids
    )
    return _paginate(head, lines, silent)


def _item_line(item: DigestItem, tz: ZoneInfo, language: Language | None = None) -> tuple[str, str]:
    title = isolate(shorten(clean_text(item.title), DIGEST_TITLE_MAX)) or i18n.text(
        language, "alert.untitled"
    )
    if item.updated:
        title = i18n.text(language, "digest.item_updated", title=title)
    meta = []
    if item.also:
        names = [isolate(shorten(clean_text(s), 40)) for s in (item.source, *item.also) if s]
        meta.append(
            i18n.text(language, "digest.item_sources", count=len(names), names=", ".join(names))
        )
    elif item.source:
        meta.append(isolate(shorten(clean_text(item.source), 60)))
    if item.published_at is not None and item.published_at.tzinfo is not None:
        meta.append(moment(language, "date.alert_short", item.published_at, tz))
    also = rule_tags(list(item.rule_ids[1:]))
    tail = " · ".join(meta)
    suffix = (f" — {tail}" if tail else "") + (f" {' '.join(also)}" if also else "")
    link = safe_link(item.link)
    escaped_title = html.escape(title, quote=False)
    title_html = f'<a href="{html.escape(link)}">{escaped_title}</a>' if link else escaped_title
    plain = f"• {title}{suffix}" + (f"\n  {shorten(link, 300)}" if link else "")
    return f"• {title_html}{html.escape(suffix, quote=False)}", plain


def _paginate(head: str, lines: list[tuple[str, str]], silent: bool) -> list[RenderedMessage]:
    pages: list[list[tuple[str, str]]] = [[]]
    size = _utf16_len(head) + 20  # room for "(continued 2/9)"
    for line in lines:
        visible = _visible_len(line)
        if pages[-1] and size + visible + 1 > DIGEST_PAGE_MAX:
            pages.append([])
            size = _utf16_len(head) + 20
        pages[-1].append(line)
        size += visible + 1
    messages = []
    for number, page in enumerate(pages, start=1):
        title = head if len(pages) == 1 else f"{head} ({number}/{len(pages)})"
        messages.append(
            RenderedMessage(
                html="\n".join(
                    [f"<b>{html.escape(title, quote=False)}</b>"] + [h for h, _ in page]
                ),
                plain="\n".join([title] + [p for _, p in page]),
                disable_notification=silent,
            )
        )
    return messages


def _visible_len(line: tuple[str, str]) -> int:
    # The plain form is never shorter than what the HTML form shows (it adds the bare link).
    return _utf16_len(line[1])


def next_digest_at(schedule: str, after: datetime, tz: ZoneInfo) -> datetime:
    """When a digest with ``schedule`` ("hourly" or "daily HH:MM", local to ``tz``) is next due,
    strictly after ``after`` (aware). Returned in UTC. ValueError for any other schedule."""
    after_utc = after.astimezone(UTC)
    if schedule == "hourly":
        return after_utc.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    kind, _, hhmm = schedule.partition(" ")
    hour, _, minute = hhmm.partition(":")
    if kind != "daily" or not (hour.isdigit() and minute.isdigit()):
        raise ValueError(f"unknown digest schedule {schedule!r}")
    local = after_utc.astimezone(tz)
    candidate = local.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
    if candidate <= local:
        # Add a calendar day in local time, then rebuild the wall-clock time (DST-safe).
        day = (candidate + timedelta(days=1)).date()
        candidate = datetime(day.year, day.month, day.day, int(hour), int(minute), tzinfo=tz)
    return candidate.astimezone(UTC)
