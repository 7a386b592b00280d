"""Message catalogues for the bot's own words, English and Vietnamese (``core.models.Language``).

``text(language, key, **values)`` gives the message ``key`` in ``language`` (English when the
chat chose none, and for any key a catalogue lacks), with ``values`` filled in. Values are
inserted as given: the caller escapes what comes from users or feeds.

The catalogues are split by area, one module each (``core_messages``, ``command_messages``,
``admin_messages``, ``alert_messages``), each with an ``EN`` and a ``VI`` dict; a key lives in
exactly one area (``tests/bot/i18n`` checks that, and that both languages have the same keys and
placeholders).
Pure data and one lookup: no I/O.
"""

from __future__ import annotations

from bot.i18n import admin_messages, alert_messages, command_messages, core_messages
from core.models import Language

AREAS = (core_messages, command_messages, admin_messages, alert_messages)

EN: dict[str, str] = {k: v for area in AREAS for k, v in area.EN.items()}
VI: dict[str, str] = {k: v for area in AREAS for k, v in area.VI.items()}

CATALOGUES: dict[Language, dict[str, str]] = {Language.EN: EN, Language.VI: VI}
LANGUAGE_NAMES: dict[Language, str] = {Language.EN: "English", Language.VI: "Tiếng Việt"}


def text(language: Language | None, key: str, **values: object) -> str:
    """The message ``key`` in ``language`` (English by default and as the fallback)."""
    catalogue = CATALOGUES.get(language or Language.EN, EN)
    template = catalogue.get(key) or EN[key]
    return template.format(**values) if values else template
