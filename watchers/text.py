"""Plain text and URL keys for articles: HTML to clean text, tracking-free links, identities.

Pure functions over strings; no I/O, no feed knowledge. They are fast on the common case (text
with no markup) because they run for every item of every changed feed.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Final
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_BLOCK_TAGS: Final = (
    "p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|section|article|header|footer|figure|"
    "figcaption|pre|hr|dd|dt|dl"
)
_DROP_RE: Final = re.compile(
    r"<(script|style|noscript|template|iframe|svg|math)\b.*?</\1\s*>|<!--.*?-->|<!\[CDATA\[|\]\]>",
    re.IGNORECASE | re.DOTALL,
)
_BLOCK_RE: Final = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^>]*>", re.IGNORECASE)
_TAG_RE: Final = re.compile(r"</?[A-Za-z][^>]*>|<![^>]*>|<\?[^>]*\?>")

# Query parameters that only track the reader, never select the content.
_TRACKING_PREFIXES: Final = ("utm_", "mtm_", "pk_", "hsa_", "at_", "_hs")
_TRACKING_PARAMS: Final = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "ncid",
        "sr_share",
        "spm",
        "__twitter_impression",
        "rss_source",
        "from_rss",
    }
)
# Host prefixes of the mobile and AMP editions of a site ("m.vietnamplus.vn" is
# "vietnamplus.vn"); only stripped when a registrable name remains after them.
_EDITION_HOST_PREFIXES: Final = ("m.", "mobile.", "amp.", "www.")


def html_to_text(value: str | None) -> str:
    """HTML (or plain text) -> plain text: tags stripped, entities decoded, whitespace normalised.

    Block elements become line breaks; runs of spaces collapse to one; lines are trimmed and
    blank lines dropped. Does not interpret CSS or keep links.
    """
    if not value:
        return ""
    text = value
    if "<" in text:
        text = _DROP_RE.sub(" ", text)
        text = _BLOCK_RE.sub("\n", text)
        text = _TAG_RE.sub("", text)
    if "&" in text:
        # Twice: feeds often double-escape (``&amp;amp;``, ``&amp;#8217;``).
        text = html.unescape(html.unescape(text))
        if "<" in text and _TAG_RE.search(text):
            text = _TAG_RE.sub("", _BLOCK_RE.sub("\n", _DROP_RE.sub(" ", text)))
    return plain_text(text)


def plain_text(value: str | None) -> str:
    """Normalise whitespace of text that is already plain (no markup interpretation)."""
    if not value:
        return ""
    # str.split() knows every Unicode space (NBSP, thin and ideographic spaces...) and is several
    # times faster than regular expressions here; zero-width spaces are not spaces, drop them.
    text = value.replace("\u200b", "").replace("\ufeff", "")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _is_amp_switch(name: str, value: str) -> bool:
    """``?amp``, ``?amp=1``, ``?outputType=amp``: the AMP rendering of the same page (folded in
    keys only; the link shown keeps them)."""
    low = name.lower()
    return low == "amp" or (low in ("outputtype", "output") and value.lower() == "amp")


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """The URL without tracking query parameters (``utm_*``, ``fbclid``...) or fragment tracking.

    Keeps everything else as published (scheme, host case, parameter order).
    """
    parts = urlsplit(url.strip())
    if not parts.query and not parts.fragment.startswith(("utm_", "xtor")):
        return urlunsplit(parts)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    fragment = "" if parts.fragment.startswith(("utm_", "xtor")) else parts.fragment
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True), fragment=fragment))


def link_key(url: str | None) -> str | None:
    """A comparison key for a link: the same article reached by cosmetic URL variants is equal.

    Tracking (and AMP switch) parameters removed, scheme folded to https, host lower-cased
    without ``www.``/``m.``/``amp.`` and default port, AMP path variants and a trailing slash
    folded, fragment dropped, empty path as ``/``, remaining query parameters sorted. Not
    meant to be fetched; ``None`` for links that are not http(s).
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = _canonical_host(parts.hostname, port)
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(k) and not _is_amp_switch(k, v)
    )
    return urlunsplit(
        ("https", host, _canonical_path(parts.path), urlencode(query, doseq=True), "")
    )


def _canonical_host(hostname: str, port: int | None) -> str:
    """Lower case, no trailing dot, no ``www.``/``m.``/``amp.`` edition prefix, no default port."""
    host = hostname.lower().rstrip(".")
    stripped = True
    while stripped:
        stripped = False
        for prefix in _EDITION_HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host, stripped = host[len(prefix) :], True
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    return host


def _canonical_path(path: str) -> str:
    """The path of the article's canonical page: AMP variants (``/amp``, ``/amp/…``,
    ``….amp.html``, ``….amp``) and a trailing slash folded. Case is kept (paths are
    case-sensitive on many sites)."""
    if not path:
        return "/"
    segments = [seg for seg in path.split("/") if seg]
    if segments and segments[-1].lower() == "amp":
        segments.pop()
    if segments and segments[0].lower() == "amp":
        segments.pop(0)
    if segments:
        last = segments[-1]
        low = last.lower()
        if low.endswith(".amp.html") or low.endswith(".amp.htm"):
            last = last[: low.rindex(".amp.")] + last[low.rindex(".amp.") + 4 :]
        elif low.endswith(".amp"):
            last = last[:-4]
        segments[-1] = last
    return "/" + "/".join(segments)


def clean_link(raw: str | None, base_url: str) -> tuple[str | None, str | None]:
    """(link without tracking, its ``link_key``) from an item's raw link, relative or not.

    One URL parse for both results: this runs for every item of every changed feed.
    """
    if not raw or not raw.strip():
        return None, None
    raw = raw.strip()
    url = raw if raw.startswith(("http://", "https://")) else urljoin(base_url, raw)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url, None
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
        query = urlencode(kept, doseq=True) if len(kept) != len(pairs) else parts.query
    else:
        kept, query = [], ""
    fragment = "" if parts.fragment.startswith(("utm_", "xtor")) else parts.fragment
    link = urlunsplit(parts._replace(query=query, fragment=fragment))
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return link, None
    key_pairs = sorted((k, v) for k, v in kept if not _is_amp_switch(k, v))
    key_query = urlencode(key_pairs, doseq=True) if key_pairs else ""
    host = _canonical_host(parts.hostname, port)
    return link, urlunsplit(("https", host, _canonical_path(parts.path), key_query, ""))


def site_of(feed_url: str) -> str:
    """The host that scopes bare guids: lower case, without ``www.``."""
    host = (urlsplit(feed_url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def content_hash(title: str, content: str) -> str:
    return hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()


def article_identity(
    guid: str | None,
    link: str | None,
    title: str,
    content: str,
    feed_url: str,
    *,
    key: str | None = None,
    site: str | None = None,
) -> str:
    """``guid:...`` else ``link:<link_key>`` else ``hash:<sha256 of title and content>``.

    A guid that is a URL, URN or tag URI is globally unique and used as is, so the same story
    from two feeds is one article. A bare guid (``12345``) is only unique within its site, so
    it is scoped by the feed's host: two sites numbering their posts alike never collide.
    ``key`` (the link's ``link_key``) and ``site`` (``site_of(feed_url)``) may be passed when
    already known, to save recomputing them per item.
    """
    if guid and guid.strip():
        g = guid.strip()
        if "://" in g or g.lower().startswith(("urn:", "tag:")):
            return f"guid:{g}"
        return f"guid:{site if site is not None else site_of(feed_url)}#{g}"
    key = key if key is not None else link_key(link)
    if key:
        return f"link:{key}"
    return f"hash:{content_hash(title, content)}"
