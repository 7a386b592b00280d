"""Catalogue of command replies, usage texts and /help (``EN`` and ``VI``, same keys).

Keys are ``<command>.<what>``. Pure data."""

from __future__ import annotations

EN: dict[str, str] = {}

VI: dict[str, str] = {}
