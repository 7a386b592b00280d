"""Alerts of stories: the alert of a story lists its sources; a reply announces a late one.

``format_delivery`` is what the sinks call for an alert-like outbox row: a plain alert
(``alert_format.format_alert``), the same with a sources line when the row is a story's alert
with two or more sources (``Delivery.sources``), or for a ``REPLY`` a short message naming the
source that joined the story after its alert became too old to edit. The first source's title
stays the alert's title: the sources line only grows. The bot's words are in the chat's
language (``bot.i18n``); outlets' names and headlines are shown as they are. Pure: no I/O, no
Telegram imports.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

import bot.i18n as i18n
from bot.delivery.alert_format import (
    SOURCE_MAX,
    TITLE_MAX,
    clean_text,
    format_alert,
    isolate,
    safe_link,
    shorten,
    source_name,
)
from core.models import (
    Article,
    Delivery,
    DeliveryKind,
    Language,
    RenderedMessage,
    RuleInfo,
    SnippetLength,
    StorySource,
)

MAX_LISTED = 8  # sources named in the line; the rest are counted ("+3 more")


def format_delivery(
    delivery: Delivery,
    rules: Mapping[str, RuleInfo],
    tz: ZoneInfo,
    *,
    snippet_length: SnippetLength = SnippetLength.NORMAL,
    language: Language | None = None,
) -> RenderedMessage:
    """The message for an alert, edit, sources edit or reply row (it carries an article);
    ``tz``, ``snippet_length`` and ``language`` are the chat's (``/settings``)."""
    assert delivery.article is not None, "an alert delivery carries its article"
    if delivery.kind is DeliveryKind.REPLY:
        return format_source_reply(
            delivery.article, delivery.sources, rules, delivery, language=language
        )
    message = format_alert(
        delivery.article,
        delivery.matches,
        rules,
        tz,
        updated=delivery.kind is DeliveryKind.EDIT,
        snippet_length=snippet_length,
        language=language,
    )
    if len(delivery.sources) < 2:
        return message
    line_html, line_plain = sources_line(delivery.sources, language)
    return RenderedMessage(
        html=f"{message.html}\n{line_html}",
        plain=f"{message.plain}\n{line_plain}",
        disable_notification=message.disable_notification,
    )


def sources_line(
    sources: Sequence[StorySource], language: Language | None = None
) -> tuple[str, str]:
    """("📰 2 sources: <a>VNA</a>, <a>VietNamNet</a>", the same in plain text)."""
    shown = sources[:MAX_LISTED]
    html_names = []
    plain_names = []
    for source in shown:
        name = isolate(shorten(source_label(source), SOURCE_MAX))
        link = safe_link(source.link)
        escaped = html.escape(name, quote=False)
        html_names.append(f'<a href="{html.escape(link)}">{escaped}</a>' if link else escaped)
        plain_names.append(name)
    more = len(sources) - len(shown)
    tail = i18n.text(language, "story.more", count=more) if more else ""
    head = i18n.text(language, "story.sources", count=len(sources))
    # The catalogue's words hold no markup characters (tests/bot/i18n checks): used as they are.
    return head + ", ".join(html_names) + tail, head + ", ".join(plain_names) + tail


def format_source_reply(
    article: Article,
    sources: Sequence[StorySource],
    rules: Mapping[str, RuleInfo],
    delivery: Delivery,
    *,
    language: Language | None = None,
) -> RenderedMessage:
    """A reply threaded to a story's old alert: the new source and its headline, silent."""
    name = isolate(shorten(source_name(article), SOURCE_MAX)) or i18n.text(
        language, "story.another_source"
    )
    title = isolate(shorten(clean_text(article.title), TITLE_MAX)) or i18n.text(
        language, "alert.untitled"
    )
    link = safe_link(article.link)
    count = (
        i18n.text(language, "story.sources_now", count=len(sources)) if len(sources) >= 2 else ""
    )
    esc_title = html.escape(title, quote=False)
    linked = f'<a href="{html.escape(link)}">{esc_title}</a>' if link else esc_title
    head_html = i18n.text(
        language, "story.new_source", name=f"<b>{html.escape(name, quote=False)}</b>"
    )
    head_plain = i18n.text(language, "story.new_source", name=name)
    return RenderedMessage(
        html=f"{head_html}{count}\n" + linked,
        plain=f"{head_plain}{count}\n{title}" + (f"\n{link}" if link else ""),
        disable_notification=True,  # the story was already announced
    )


def source_label(source: StorySource) -> str:
    """The outlet to show for a source: the feed's name, else the host (``source_name``)."""
    return source_name(
        Article(
            feed_url=source.feed_url,
            identity="",
            title=source.title,
            link=source.link,
            feed_name=source.feed_name,
        )
    )
