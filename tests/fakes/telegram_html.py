"""Telegram's ``parse_mode=HTML`` parser, re-implemented for the fake Bot API server and tests.

Follows the rules the real server applies (tdlib's ``parse_html``): only the documented tags,
properly nested, the four named entities plus numeric ones, and the real error texts
(``Unsupported start tag "x" at byte offset N`` ...). Produces the plain text and the entities,
with offsets and lengths in UTF-16 code units as the Bot API reports them. Does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_LENGTH = 4096

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_SPACES = " \t\n\r\f\v"


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML. ``str(e)`` is Telegram's own wording."""


@dataclass(slots=True)
class ParsedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(raw: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None or m.group(2) is not None:
            code = int(m.group(1), 10) if m.group(1) is not None else int(m.group(2), 16)
            if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return chr(code)
            return m.group(0)
        name = m.group(3)
        # Telegram supports only four named entities; the others stay as literal text.
        return _NAMED_ENTITIES.get(name, m.group(0))

    return _ENTITY_RE.sub(repl, raw)


@dataclass(slots=True)
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output text
    attrs: dict[str, str]


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML into text and entities, or raise ``HtmlParseError``."""
    out: list[str] = []
    out_len = 0  # UTF-16 units written so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    n = len(source)
    i = 0

    def byte_offset(pos: int) -> int:
        return len(source[:pos].encode("utf-8"))

    while i < n:
        c = source[i]
        if c != "<":
            j = source.find("<", i)
            j = n if j == -1 else j
            chunk = _decode_entities(source[i:j])
            out.append(chunk)
            out_len += utf16_len(chunk)
            i = j
            continue
        begin = i
        if i + 1 < n and source[i + 1] == "/":
            i += 2
            while i < n and source[i] != ">":
                i += 1
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            if i >= n:
                raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            name = source[begin + 2 : i].strip().lower()
            expected = stack[-1].tag
            if name != expected:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, expected "
                    f'"</{expected}>", found "</{name}>"'
                )
            i += 1
            opened = stack.pop()
            length = out_len - opened.start
            if length > 0:
                entities.append(_entity(opened, length, stack))
            continue
        i += 1
        while i < n and source[i] not in _SPACES and source[i] != ">":
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = source[begin + 1 : i].lower()
        if name not in _TAG_ENTITY:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if source[i] == ">":
                i += 1
                break
            a_start = i
            while i < n and source[i] not in _SPACES and source[i] not in "=>":
                i += 1
            attr = source[a_start:i].lower()
            if not attr:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {byte_offset(begin)}'
                )
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if source[i] != "=":
                if name == "blockquote" and attr == "expandable":
                    attrs[attr] = ""
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{name}" at byte offset {byte_offset(begin)}'
                )
            i += 1
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if source[i] in "\"'":
                quote = source[i]
                end = source.find(quote, i + 1)
                if end == -1:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                value = source[i + 1 : end]
                i = end + 1
            else:
                v_start = i
                while i < n and (source[i].isalnum() or source[i] in ".-_"):
                    i += 1
                value = source[v_start:i]
            attrs[attr] = _decode_entities(value)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        stack.append(_Open(name, out_len, attrs))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    text = "".join(out)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(text=text, entities=entities)


def _entity(opened: _Open, length: int, outer: list[_Open]) -> dict[str, Any]:
    kind = _TAG_ENTITY[opened.tag]
    entity: dict[str, Any] = {"type": kind, "offset": opened.start, "length": length}
    if kind == "text_link":
        entity["url"] = opened.attrs.get("href", "")
    elif kind == "blockquote" and "expandable" in opened.attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = opened.attrs.get("emoji-id", "")
    elif kind == "code" and outer and outer[-1].tag == "pre":
        language = opened.attrs.get("class", "")
        if language.startswith("language-"):
            entity["language"] = language[len("language-") :]
    return entity
