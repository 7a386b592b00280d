"""Catalogue of the words inside alerts, digests, story updates, catch-ups, trend alerts and
alert buttons (``EN`` and ``VI``, same keys). Keys are ``alert.``, ``digest.``, ``story.``,
``catchup.``, ``trend.``, ``button.`` ... Pure data."""

from __future__ import annotations

EN: dict[str, str] = {}

VI: dict[str, str] = {}
