"""Adding a checked feed to the feeds file: fetch the URL once, then append it.

``add_feed`` is shared by ``newswatch feeds add`` (``bot.cli``) and the admin ``/addfeed``
command (``bot.runtime.admin_actions``); it lives in the runtime, which the command line may use,
because it reaches the network (``bot.config`` only reads and writes files). It reaches the
network only through the ``FeedFetcher`` it is given (``watchers.discovery`` does the checking),
and rewrites the file only when the edited text still parses as a valid feeds file with exactly
one feed more. Does not touch storage: the caller applies the file (the feeds reloader).
Its sentences come from ``bot.i18n.admin_messages`` in the language it is given (English for
the command line, the chat's for ``/addfeed``); the fetch problem itself stays as the watcher
wrote it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.config.feeds_file import append_feed_entry, parse_feeds_yaml, write_file_atomically
from bot.i18n import text as tr
from bot.i18n.admin_messages import counted
from core.errors import ConfigError
from core.models import Language
from watchers.discovery import inspect_feed_url
from watchers.fetch import FeedFetcher

ALLOW_PRIVATE_SETTING = "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES"


@dataclass(frozen=True, slots=True)
class AddFeedResult:
    """What adding a feed did: ``ok`` (added or already listed) and ``message``, sentences for
    a person (what happened and what to do next; no server paths, no library internals, so
    Telegram may show it). ``detail`` is for the operator's terminal only (the file written,
    the exact parse error)."""

    ok: bool
    message: str
    feed_url: str | None = None
    detail: str | None = None


def next_step(problem: str, language: Language | None = None) -> str:
    """What to do about a fetch or parse ``problem`` (``FeedProbe.problem``), one sentence in
    ``language``."""
    if problem.startswith("blocked address"):
        return tr(language, "addfeed.next.private", setting=ALLOW_PRIVATE_SETTING)
    if "no such host name" in problem or problem.startswith("cannot resolve"):
        return tr(language, "addfeed.next.typo")
    if problem.startswith("HTTP 4"):
        return tr(language, "addfeed.next.http4")
    if problem.startswith(("HTTP 5", "timed out", "cannot connect")):
        return tr(language, "addfeed.next.down")
    if "not an RSS or Atom feed" in problem or "links no RSS" in problem:
        return tr(language, "addfeed.next.not_feed")
    return tr(language, "addfeed.next.other")


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def add_feed(
    url: str,
    feeds_file: Path,
    fetcher: FeedFetcher,
    *,
    allow_private: bool = False,
    name: str | None = None,
    default_interval_s: float = 300.0,
    language: Language | None = None,
) -> AddFeedResult:
    """Check ``url`` (fetch once, parse; an HTML page leads to its feed) and append the feed to
    ``feeds_file``. A URL already listed is not fetched again. ``message`` is in ``language``
    (English by default); ``detail`` is always English.

    The file is only rewritten when the new text still parses as a valid feeds file listing the
    same feeds plus the new one, in the same order.
    """
    url = url.strip()
    try:
        text = await asyncio.to_thread(_read_text, feeds_file)
        existing = parse_feeds_yaml(text, str(feeds_file), default_interval_s)
    except (ConfigError, OSError) as e:
        return _file_problem(url, e, language)
    known = {_same(f.url) for f in existing.feeds}
    if _same(url) in known:
        message = tr(language, "addfeed.already", url=url)
        return AddFeedResult(True, message, url, str(feeds_file))
    probe = await inspect_feed_url(url, fetcher, allow_private)
    if not probe.ok or probe.feed_url is None:
        problem = probe.problem or "no answer"
        message = tr(
            language,
            "addfeed.failed",
            url=url,
            problem=problem,
            next_step=next_step(problem, language),
        )
        return AddFeedResult(False, message)
    if _same(probe.feed_url) in known:
        message = tr(language, "addfeed.leads_to_known", url=url, feed_url=probe.feed_url)
        return AddFeedResult(True, message, url, str(feeds_file))
    try:
        new_text = append_feed_entry(text, probe.feed_url, name or probe.title)
        edited = parse_feeds_yaml(new_text, str(feeds_file), default_interval_s)
        expected = [*(f.url for f in existing.feeds), probe.feed_url]
        if [f.url for f in edited.feeds] != expected:
            # A guard on the editor: never write a file that lost or reordered a feed.
            raise ConfigError(f"{feeds_file}: the edit would change other feeds; not written")
        await asyncio.to_thread(write_file_atomically, feeds_file, new_text)
    except (ConfigError, OSError) as e:
        return _file_problem(url, e, language)
    via = (
        tr(language, "addfeed.found_on", page=probe.discovered_from)
        if probe.discovered_from
        else ""
    )
    title = probe.title or probe.feed_url
    if probe.item_count == 0:
        message = tr(language, "addfeed.added_empty", title=title, feed_url=probe.feed_url, via=via)
    else:
        message = tr(
            language,
            "addfeed.added",
            title=title,
            items=counted(language, probe.item_count, "item"),
            feed_url=probe.feed_url,
            via=via,
        )
    return AddFeedResult(True, message, probe.feed_url, f"written to {feeds_file}")


def _same(url: str) -> str:
    """A URL as compared for "already listed": a trailing slash and the host's case aside."""
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )


def _file_problem(url: str, error: Exception, language: Language | None) -> AddFeedResult:
    message = tr(language, "addfeed.file_problem", url=url)
    return AddFeedResult(False, message, detail=str(error))
