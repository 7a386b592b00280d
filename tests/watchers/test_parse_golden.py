"""Golden files: each ``golden/<name>.xml`` next to ``golden/<name>.json``, the articles it must
produce. Regenerate after a deliberate change with ``UPDATE_GOLDEN=1`` and review the diff."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from watchers.parse import parse_feed

GOLDEN = Path(__file__).parent / "golden"
CONTENT_TYPES = {
    # Says utf-8 in the header but is windows-1252: feedparser must recover, not crash.
    "mislabelled": "application/rss+xml; charset=utf-8",
    # No charset in the header: the XML prolog's ISO-8859-1 applies.
    "rss091": "application/xml",
}


def _render(name: str) -> dict[str, Any]:
    body = (GOLDEN / f"{name}.xml").read_bytes()
    parsed = parse_feed(
        body, f"https://feeds.example.org/{name}.xml", CONTENT_TYPES.get(name), feed_name=name
    )
    items = []
    for a in parsed.items:
        d = asdict(a)
        d["published_at"] = a.published_at.isoformat() if a.published_at else None
        items.append(d)
    return {
        "title": parsed.title,
        "version": parsed.version,
        "ttl_s": parsed.ttl_s,
        "bozo": parsed.bozo is not None,
        "items": items,
    }


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.xml")))
def test_golden(name: str) -> None:
    got = _render(name)
    expected_file = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert got == expected
