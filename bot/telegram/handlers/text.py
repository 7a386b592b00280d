"""Small text helpers the replies share: HTML escaping, plurals, dates, rule tags and links.

Everything that comes from feeds, rules or users passes through ``esc`` (or ``link``) before it
goes into a reply. ``plural`` and ``stamp`` take the chat's language (``core.models.Language``):
Vietnamese has no plural forms (a count and the noun's catalogue word) and writes dates as
day/month. Pure functions; does not send anything.
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo
from enum import Enum

from bot.delivery.alert_format import clean_text, rule_tags, safe_link, shorten
from bot.i18n import CATALOGUES
from bot.i18n import text as catalogue_text
from core.models import Language
from core.text import plural as core_plural


def esc(text: str) -> str:
    """``text`` made safe for Telegram HTML (quotes may stay: they are never in attributes)."""
    return html.escape(text, quote=False)


def noun_key(word: str) -> str:
    """The catalogue key of an English noun for ``plural``: ``"personal rule"`` ->
    ``"noun.personal_rule"``."""
    return "noun." + word.replace(" ", "_")


def plural(count: int, word: str, lang: Language | None = None) -> str:
    """A count and its noun in the chat's language.

    English (``lang`` None or EN, the old two-argument call): ``1 feed``, ``3 feeds``,
    ``2 matches`` (``core.text.plural``). Vietnamese has no plural forms: the count and the
    noun's Vietnamese word from the catalogues' ``noun.<word>`` key (spaces as ``_``, in any
    area's catalogue), ``3 nguồn tin``; a noun no catalogue has stays English rather than fail.
    """
    if lang is None or lang is Language.EN:
        return core_plural(count, word)
    translated = CATALOGUES.get(lang, {}).get(noun_key(word))
    return f"{count} {translated}" if translated else core_plural(count, word)


class Stamp(Enum):
    """How much of a moment a reply shows; each language writes it its own way."""

    FULL = "full"  # 11 Jul 2025 17:00 ICT  /  11/07/2025 17:00 ICT
    DAY_TIME_ZONE = "day_time_zone"  # 11 Jul 17:00 ICT  /  11/07 17:00 ICT
    DAY_TIME = "day_time"  # 11 Jul 17:00  /  11/07 17:00
    DATE = "date"  # 11 Jul 2025  /  11/07/2025


_STAMP_FORMATS: dict[Language, dict[Stamp, str]] = {
    Language.EN: {
        Stamp.FULL: "%d %b %Y %H:%M %Z",
        Stamp.DAY_TIME_ZONE: "%d %b %H:%M %Z",
        Stamp.DAY_TIME: "%d %b %H:%M",
        Stamp.DATE: "%d %b %Y",
    },
    # Day/month in digits: strftime's month names are English whatever the language.
    Language.VI: {
        Stamp.FULL: "%d/%m/%Y %H:%M %Z",
        Stamp.DAY_TIME_ZONE: "%d/%m %H:%M %Z",
        Stamp.DAY_TIME: "%d/%m %H:%M",
        Stamp.DATE: "%d/%m/%Y",
    },
}


def stamp(moment: datetime, tz: tzinfo, lang: Language | None, style: Stamp) -> str:
    """``moment`` in the chat's time zone ``tz``, written as ``lang`` writes dates."""
    formats = _STAMP_FORMATS.get(lang or Language.EN, _STAMP_FORMATS[Language.EN])
    return moment.astimezone(tz).strftime(formats[style])


def cap(text: str) -> str:
    """``this chat`` -> ``This chat`` (only the first letter changes)."""
    return text[:1].upper() + text[1:]


def rule_tag(rule_id: str) -> str:
    """The rule's ``#tag``, or its id when it makes no tag."""
    return (rule_tags([rule_id]) or [rule_id])[0]


def link(title: str, url: str | None, lang: Language | None = None) -> str:
    """An article title as an HTML link (plain text when the URL is not safe to link)."""
    untitled = catalogue_text(lang, "text.untitled")
    text = esc(shorten(clean_text(title), 160) or untitled)
    href = safe_link(url)
    return f'<a href="{html.escape(href)}">{text}</a>' if href else text
