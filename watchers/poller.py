"""One poll of one feed: fetch with stored validators, parse off the loop, compute the new state.

``poll_feed`` is the watchers' single entry point for the pipeline. It never touches storage and
never raises for feed problems: the caller stores the articles first and *then* the returned
state (in that order, so a crash between the two re-fetches and re-ingests, which dedups, rather
than skipping items).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.errors import FeedError
from core.models import Article, FeedState
from watchers.fetch import FeedFetcher, FetchResult
from watchers.parse import ParsedFeed
from watchers.parsepool import ParsePool, default_parse_pool
from watchers.schedule import (
    PollSettings,
    next_check_after_failure,
    next_check_after_success,
    parse_retry_after,
)

if TYPE_CHECKING:
    from watchers.fulltext import FullTextExtractor

__all__ = ["PollOutcome", "PollSettings", "failed_state", "poll_feed"]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll produced.

    ``state`` is the feed's new state (validators, body hash, schedule, health) to save *after*
    the articles. ``first_poll`` is True when this was the feed's first successful poll (the
    pipeline stores those items without alerting unless configured otherwise; ``alert`` is that
    decision, from ``PollSettings.alert_on_first_poll``). ``parsed`` is
    False when nothing was parsed (304, identical body, error). ``redirected_to`` is set when a
    permanent redirect moved the feed this time (also recorded in ``state.redirected_to``).
    """

    state: FeedState
    articles: list[Article] = field(default_factory=list)
    error: str | None = None
    status: int = 0
    parsed: bool = False
    not_modified: bool = False
    first_poll: bool = False
    alert: bool = True
    redirected_to: str | None = None
    bozo: str | None = None


async def poll_feed(
    state: FeedState,
    fetcher: FeedFetcher,
    now: datetime,
    settings: PollSettings,
    *,
    full_text: FullTextExtractor | None = None,
    parser: ParsePool | None = None,
    rand: Callable[[], float] = random.random,
) -> PollOutcome:
    """Poll ``state``'s feed once. Returns articles with ``published_at`` filled (first-seen
    time ``now`` when the feed gives none). Disabled feeds are not fetched.

    Parsing runs in ``parser`` (default: ``default_parse_pool()``, one worker process), never
    on the event loop, and only when the body differs from the last one parsed.
    """
    if state.disabled_reason:
        return PollOutcome(
            state=replace(state, next_check_at=now + timedelta(seconds=settings.backoff_cap_s)),
            error=f"disabled: {state.disabled_reason}",
        )
    url = state.redirected_to or state.url
    result = await fetcher.fetch(url, state.etag, state.last_modified)
    moved = result.permanent_redirect_to
    if moved is not None:
        state = replace(state, redirected_to=moved)
    state = replace(state, last_checked_at=now)

    if result.status == 410:
        return PollOutcome(
            state=replace(
                state,
                disabled_reason="410 Gone",
                last_error="HTTP 410 Gone: the feed was removed; polling stopped",
                last_error_at=now,
                consecutive_errors=state.consecutive_errors + 1,
                failing_since=state.failing_since or now,
                next_check_at=now + timedelta(seconds=settings.backoff_cap_s),
            ),
            error="HTTP 410 Gone",
            status=410,
            redirected_to=moved,
        )
    if not result.ok:
        return _failed(state, result, result.error or "no response", now, settings, rand, moved)

    if result.not_modified:
        new_state = _succeeded(state, result, None, now, settings, rand, keep_validators=True)
        return PollOutcome(
            state=new_state, status=result.status, not_modified=True, redirected_to=moved
        )

    body = result.body or b""
    body_hash = hashlib.sha256(body).hexdigest()
    if body_hash == state.body_hash and state.first_poll_done:
        new_state = _succeeded(state, result, None, now, settings, rand)
        return PollOutcome(state=new_state, status=result.status, redirected_to=moved)

    try:
        parsed = await (parser or default_parse_pool()).parse(
            body, state.url, result.content_type, state.name, base_url=result.final_url or url
        )
    except FeedError as e:
        return _failed(state, result, str(e), now, settings, rand, moved)
    if not parsed.looks_like_feed:
        why = parsed.bozo or "no feed elements"
        return _failed(state, result, f"not a feed: {why}", now, settings, rand, moved)

    articles = [
        a if a.published_at is not None else replace(a, published_at=now) for a in parsed.items
    ]
    if full_text is not None and state.full_text:
        articles = await full_text.enrich(articles)
    new_state = _succeeded(state, result, parsed, now, settings, rand)
    return PollOutcome(
        state=replace(new_state, body_hash=body_hash),
        articles=articles,
        status=result.status,
        parsed=True,
        first_poll=not state.first_poll_done,
        alert=state.first_poll_done or settings.alert_on_first_poll,
        redirected_to=moved,
        bozo=parsed.bozo,
    )


def _succeeded(
    state: FeedState,
    result: FetchResult,
    parsed: ParsedFeed | None,
    now: datetime,
    settings: PollSettings,
    rand: Callable[[], float],
    *,
    keep_validators: bool = False,
) -> FeedState:
    headers = result.headers
    if keep_validators:
        # A 304 may carry refreshed validators; keep the old ones where it does not.
        etag = headers.get("etag") or state.etag
        last_modified = headers.get("last-modified") or state.last_modified
    else:
        # Validators describe this body: store them every time, absent ones as None.
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
    return replace(
        state,
        etag=etag,
        last_modified=last_modified,
        title=(parsed.title if parsed is not None and parsed.title else state.title),
        last_success_at=now,
        consecutive_errors=0,
        failing_since=None,
        first_poll_done=True if parsed is not None else state.first_poll_done,
        next_check_at=next_check_after_success(
            now,
            state.interval_s,
            state.avg_new_item_interval_s,
            headers,
            parsed.ttl_s if parsed is not None else None,
            settings,
            rand,
        ),
    )


def counted_from_end(state: FeedState, took: timedelta) -> FeedState:
    """``state`` (a poll's outcome, scheduled from the time the poll began) with its next check
    moved by ``took``, the time the poll lasted: the interval counts from the end of a poll,
    so a slow answer, or a process too busy to send the request at once, never brings the next
    request closer to this one than the interval (less its jitter)."""
    if state.next_check_at is None or took <= timedelta(0):
        return state
    return replace(state, next_check_at=state.next_check_at + took)


def failed_state(
    state: FeedState,
    error: str,
    now: datetime,
    settings: PollSettings,
    rand: Callable[[], float] = random.random,
) -> FeedState:
    """``state`` after a poll that failed with ``error`` without an HTTP answer to go by (the
    poll ran past its time limit): the error recorded and the feed backed off as for any
    failure."""
    return _failed(state, FetchResult(url=state.url), error, now, settings, rand, None).state


def _failed(
    state: FeedState,
    result: FetchResult,
    error: str,
    now: datetime,
    settings: PollSettings,
    rand: Callable[[], float],
    moved: str | None,
) -> PollOutcome:
    errors = state.consecutive_errors + 1
    retry_after = parse_retry_after(result.headers.get("retry-after"), now)
    new_state = replace(
        state,
        last_error=error,
        last_error_at=now,
        consecutive_errors=errors,
        failing_since=state.failing_since or now,
        next_check_at=next_check_after_failure(
            now, errors, retry_after, state.interval_s, settings, rand
        ),
    )
    return PollOutcome(state=new_state, error=error, status=result.status, redirected_to=moved)
