"""Small text helpers the replies share: HTML escaping, plurals, rule tags and article links.

Everything that comes from feeds, rules or users passes through ``esc`` (or ``link``) before it
goes into a reply. Pure functions; does not send anything.
"""

from __future__ import annotations

import html

from bot.delivery.alert_format import clean_text, rule_tags, safe_link, shorten
from core.text import plural as core_plural


def esc(text: str) -> str:
    """``text`` made safe for Telegram HTML (quotes may stay: they are never in attributes)."""
    return html.escape(text, quote=False)


def plural(count: int, word: str) -> str:
    """``1 feed``, ``3 feeds``, ``2 matches`` (``core.text.plural``)."""
    return core_plural(count, word)


def cap(text: str) -> str:
    """``this chat`` -> ``This chat`` (only the first letter changes)."""
    return text[:1].upper() + text[1:]


def rule_tag(rule_id: str) -> str:
    """The rule's ``#tag``, or its id when it makes no tag."""
    return (rule_tags([rule_id]) or [rule_id])[0]


def link(title: str, url: str | None) -> str:
    """An article title as an HTML link (plain text when the URL is not safe to link)."""
    text = esc(shorten(clean_text(title), 160) or "(untitled)")
    href = safe_link(url)
    return f'<a href="{html.escape(href)}">{text}</a>' if href else text
