"""Adding a checked feed to the feeds file: fetch the URL once, then append it.

``add_feed`` is shared by ``newswatch feeds add`` (``bot.cli``) and the admin ``/addfeed``
command (``bot.runtime.admin_actions``); it lives in the runtime, which the command line may use,
because it reaches the network (``bot.config`` only reads and writes files). It reaches the
network only through the ``FeedFetcher`` it is given (``watchers.discovery`` does the checking),
and rewrites the file only when the edited text still parses as a valid feeds file with exactly
one feed more. Does not touch storage: the caller applies the file (the feeds reloader).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.config.feeds_file import append_feed_entry, parse_feeds_yaml, write_file_atomically
from core.errors import ConfigError
from watchers.discovery import inspect_feed_url
from watchers.fetch import FeedFetcher


@dataclass(frozen=True, slots=True)
class AddFeedResult:
    """What adding a feed did: ``ok`` (added or already listed) and a one-line message."""

    ok: bool
    message: str
    feed_url: str | None = None


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
) -> AddFeedResult:
    """Check ``url`` (fetch once, parse; an HTML page leads to its feed) and append the feed to
    ``feeds_file``.

    The file is only rewritten when the new text still parses as a valid feeds file listing the
    same feeds plus the new one, in the same order.
    """
    url = url.strip()
    try:
        text = await asyncio.to_thread(_read_text, feeds_file)
        existing = parse_feeds_yaml(text, str(feeds_file), default_interval_s)
    except (ConfigError, OSError) as e:
        return AddFeedResult(False, f"cannot add: {e}")
    known = {f.url for f in existing.feeds}
    if url in known:
        return AddFeedResult(True, f"already listed in {feeds_file}: {url}", url)
    probe = await inspect_feed_url(url, fetcher, allow_private)
    if not probe.ok or probe.feed_url is None:
        return AddFeedResult(False, f"cannot add {url}: {probe.problem}")
    if probe.feed_url in known:
        return AddFeedResult(True, f"already listed in {feeds_file}: {probe.feed_url}", url)
    try:
        new_text = append_feed_entry(text, probe.feed_url, name or probe.title)
        edited = parse_feeds_yaml(new_text, str(feeds_file), default_interval_s)
        expected = [*(f.url for f in existing.feeds), probe.feed_url]
        if [f.url for f in edited.feeds] != expected:
            # A guard on the editor: never write a file that lost or reordered a feed.
            raise ConfigError(f"{feeds_file}: the edit would change other feeds; not written")
        await asyncio.to_thread(write_file_atomically, feeds_file, new_text)
    except (ConfigError, OSError) as e:
        return AddFeedResult(False, f"cannot add: {e}")
    via = f" (found on {probe.discovered_from})" if probe.discovered_from else ""
    return AddFeedResult(
        True,
        f"added {probe.title or probe.feed_url!r}: {probe.item_count} items, "
        f"{probe.feed_url}{via} -> {feeds_file}",
        probe.feed_url,
    )
