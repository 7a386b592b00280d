"""Catalogue of the replies of personal rules (/watch, /myrules, /promote), files (/export,
/feeds export|import) and the administrators' feed commands (/feeds, /addfeed, /removefeed and
their buttons) (``EN`` and ``VI``, same keys). Pure data."""

from __future__ import annotations

EN: dict[str, str] = {}

VI: dict[str, str] = {}
