"""OPML, the feed-list format feed readers exchange: ``feeds_to_opml`` writes the configured
feeds (name, address, tags as OPML's ``category``) and ``feeds_from_opml`` reads the addresses
of an OPML file (every ``outline`` with an ``xmlUrl``, nested folders included).

Pure text in, text out; adds no feed itself (``/feeds import`` hands each address to the same
checked add as ``/addfeed``). The XML parser is the standard library's expat, which refuses
entity-expansion bombs; a document type declaration is refused outright.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import ConfigError
from core.models import FeedConfig

MAX_OPML_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    name: str | None


def feeds_to_opml(feeds: Sequence[FeedConfig], title: str = "newswatch feeds") -> str:
    """An OPML 2.0 document listing ``feeds``."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.name or feed.url, "xmlUrl": feed.url}
        if feed.name:
            attrs["title"] = feed.name
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def feeds_from_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds an OPML document lists, in document order, each address once. ``ConfigError``
    for a file that is too large, not XML, not OPML, or lists no feed."""
    if len(data) > MAX_OPML_BYTES:
        raise ConfigError(f"the OPML file is larger than {MAX_OPML_BYTES // 1000} kB")
    if b"<!DOCTYPE" in data[:2000].upper():
        raise ConfigError("the OPML file has a document type declaration, which is refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ConfigError(f"the file is not valid XML ({e})") from None
    if root.tag.lower() != "opml":
        raise ConfigError(f"the file is XML but not OPML (its root is <{root.tag}>)")
    found: dict[str, OpmlFeed] = {}
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url and url not in found:
            found[url] = OpmlFeed(url, outline.get("title") or outline.get("text") or None)
    if not found:
        raise ConfigError("the OPML file lists no feed (no outline has an xmlUrl)")
    return list(found.values())
