"""Catalogue lookups that need a little more than ``text``: a count with its noun in the right
form (``counted``), a moment in a language's date style (``moment``), a decimal number with the
language's separator (``decimal``), and a message to be written later in whichever language
its reader chose (``Localized``, ``localized``). Pure: no I/O, no locale (the patterns used in
Vietnamese hold only numeric ``strftime`` fields, so the process locale changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import text
from core.models import Language


def counted(language: Language | None, key: str, count: int, **values: object) -> str:
    """``key + ".one"`` when ``count`` is 1, else ``key + ".many"``, with ``count`` filled in
    (Vietnamese has one form; English needs both)."""
    return text(language, f"{key}.{'one' if count == 1 else 'many'}", count=count, **values)


def moment(language: Language | None, key: str, when: datetime, tz: ZoneInfo) -> str:
    """``when`` (aware) shown in ``tz`` with the ``strftime`` pattern ``key`` of ``language``
    (``date.alert_long``: "11 Jul 2025 19:00" in English, "19:00 11/07/2025" in Vietnamese)."""
    return when.astimezone(tz).strftime(text(language, key))


def decimal(language: Language | None, value: float, spec: str = ".1f") -> str:
    """``value`` formatted with ``spec``, with a decimal comma in Vietnamese ("1,5")."""
    shown = format(value, spec)
    return shown.replace(".", ",") if language is Language.VI else shown


# A message for readers of several languages: a string (the same for everyone: a quote, a name)
# or a function that writes it in a language (``lambda lang: text(lang, "notice.x", ...)``).
Localized = str | Callable[[Language | None], str]


def localized(message: Localized, language: Language | None) -> str:
    """``message`` in ``language`` (a plain string is the same in every language)."""
    return message if isinstance(message, str) else message(language)
