"""Reading what the bot has stored: ``/recent`` (latest stories, each once with its rules' tags,
paged with a "More" button), ``/search`` (stored articles, in the rule language, paged)
and ``/status`` (feeds, rules and this chat's queue; the scheduler's state for administrators).

Every reply is in the chat's language (``bot.i18n``), except the scheduler's state that
administrators see in ``/status`` (``AdminActions.status_text``, English). Read-only: changes
nothing in storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from urllib.parse import urlsplit

from telegram import InlineKeyboardMarkup, Update

from bot.delivery.alert_format import build_snippet, clean_text, shorten, source_name
from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.search import Found, QueryProblem, search_stored
from bot.services import Services
from bot.telegram.handlers.access import Context, chat_language, gate, is_admin
from bot.telegram.handlers.admin import AdminActions
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.keyboards import button, keyboard, nav_row
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.rule_lookup import all_rules, find_rule, rule_token, unknown_rule
from bot.telegram.handlers.story_lists import also_reported, fold_by_story
from bot.telegram.handlers.text import Stamp, esc, link, plural, rule_tag, stamp
from core.models import Language, RuleMatch, StorySource

RECENT_PER_PAGE = 10
RECENT_MAX_PAGES = 20  # a "more" button stops here (200 stories): /export has the rest


@dataclass
class _Story:
    title: str
    link: str | None
    feed_url: str
    when: datetime
    rule_ids: list[str] = field(default_factory=list)
    also: list[str] = field(default_factory=list)  # other sources of its story (feed URLs)


async def recent_page(
    services: Services, chat_id: int, rule_id: str | None, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page ``page`` (from 0) of the latest stories for ``rule_id`` or, with None, for the
    chat's subscribed rules: each story once, with the tags of every rule that matched it, its
    source and time, and a "More" button while there are older ones; in the chat's language.
    Reads only."""
    storage = services.storage
    lang = services.chat_prefs.get(chat_id).language
    page = min(max(page, 0), RECENT_MAX_PAGES - 1)
    wanted = (page + 1) * RECENT_PER_PAGE + 1
    # A story matched by several rules is several matches: read enough to fill the page.
    limit = min(wanted * 8, 2000)
    if rule_id is not None:
        found = await storage.recent_matches(rule_id=rule_id, limit=limit)
        heading = text(lang, "recent.heading_rule", tag=esc(rule_tag(rule_id)))
    else:
        found = await storage.recent_matches(chat_id=chat_id, limit=limit)
        heading = text(lang, "recent.heading_chat")
    stories: dict[object, _Story] = {}
    for m in found:
        key: object = m.article_id if m.article_id is not None else (m.link, m.title)
        story = stories.get(key)
        if story is None:
            story = stories[key] = _Story(
                m.title, m.link, m.feed_url, m.published_at or m.matched_at
            )
        if m.rule_id not in story.rule_ids:
            story.rule_ids.append(m.rule_id)
    ordered = await fold_by_story(storage, stories)  # one line per story (issue #13)
    shown = ordered[page * RECENT_PER_PAGE : (page + 1) * RECENT_PER_PAGE]
    if not shown:
        return text(lang, "recent.none", heading=heading), None
    names = {f.url: f.name or f.title for f in await storage.list_feeds()}
    tz = services.chat_prefs.tz(chat_id, services.settings.tz)
    title = heading if page == 0 else text(lang, "recent.page", heading=heading, page=page + 1)
    lines = [f"<b>{title}</b>"]
    for story in shown:
        when = stamp(story.when, tz, lang, Stamp.DAY_TIME)
        source = names.get(story.feed_url) or urlsplit(story.feed_url).hostname or ""
        tags = " ".join(esc(rule_tag(r)) for r in sorted(story.rule_ids))
        where = f" · {esc(shorten(clean_text(source), 40))}" if source else ""
        if story.also:
            others = [names.get(u) or urlsplit(u).hostname or u for u in story.also]
            names_html = ", ".join(esc(shorten(clean_text(s), 40)) for s in [source, *others] if s)
            where = " · " + text(lang, "recent.sources", count=len(others) + 1, names=names_html)
        lines.append(f"• {link(story.title, story.link, lang)} — {tags}{where} · {when}")
    more = len(ordered) > (page + 1) * RECENT_PER_PAGE and page + 1 < RECENT_MAX_PAGES
    if not more:
        return "\n".join(lines), None
    token = rule_token(rule_id) if rule_id is not None else "*"
    return "\n".join(lines), keyboard([[button(text(lang, "recent.more"), "rc", token, page + 1)]])


SEARCH_PER_PAGE = 5


class RecentSearches:
    """The last queries searched, by a short number, so that paging buttons fit in Telegram's
    64-byte ``callback_data`` (a query does not). Kept in memory: after a restart an old button
    answers that the search expired. Holds at most ``size`` queries."""

    def __init__(self, size: int = 500) -> None:
        self._size = size
        self._queries: dict[int, str] = {}
        self._next = 1

    def remember(self, query: str) -> int:
        for number, known in self._queries.items():
            if known == query:
                return number
        number, self._next = self._next, self._next + 1
        self._queries[number] = query
        while len(self._queries) > self._size:
            del self._queries[next(iter(self._queries))]
        return number

    def get(self, number: int) -> str | None:
        return self._queries.get(number)


async def search_page(
    services: Services, searches: RecentSearches, chat_id: int, query: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of ``/search`` results for ``query`` in the rule language: count, then per
    story its linked title, source and date and a snippet with the matched words in bold;
    ◀ ▶ buttons; in the chat's language. A bad query gets the rule engine's message (English)
    with a caret under the column."""
    lang = services.chat_prefs.get(chat_id).language
    try:
        result = await search_stored(
            services.storage, query, offset=page * SEARCH_PER_PAGE, limit=SEARCH_PER_PAGE
        )
    except QueryProblem as e:
        return query_problem_html(e, lang), None
    if result.total == 0:
        scanned = plural(result.scanned, "story", lang)
        return text(lang, "search.none", query=esc(query), scanned=scanned), None
    pages = -(-result.total // SEARCH_PER_PAGE)
    page = min(page, pages - 1)
    if not result.page:  # asked past the end (the archive shrank): show the last page
        return await search_page(services, searches, chat_id, query, pages - 1)
    # Stories (issue #13): a result reported by other outlets names them.
    story_sources = await services.storage.sources_by_identity(
        [found.article.identity for found in result.page]
    )
    stories = plural(result.total, "story", lang)
    where = text(lang, "search.page", page=page + 1, pages=pages) if pages > 1 else ""
    lines = [text(lang, "search.count", query=esc(query), stories=stories) + where]
    tz = services.chat_prefs.tz(chat_id, services.settings.tz)
    lines += found_lines(result.page, tz, story_sources, lang)
    number = searches.remember(query)
    back, forward = text(lang, "search.newer"), text(lang, "search.older")
    rows = [nav_row(page, pages, back, forward, lambda n: ("sr", number, n))]
    if services.settings.personal_rules_per_chat > 0:
        # "Save as rule" from a search (#16): handled with /watch's buttons (handlers.personal).
        rows.append([button(text(lang, "search.save"), "w", "f", number)])
    return "\n".join(lines), keyboard(rows)


def found_lines(
    page: Sequence[Found],
    tz: tzinfo,
    story_sources: Mapping[str, Sequence[StorySource]],
    lang: Language | None = None,
) -> list[str]:
    """Per story found: its linked title, source and date (and the other outlets of its story,
    from ``story_sources``: identity -> sources), and a snippet with the matched words in bold
    (HTML lines in ``lang``, for /search and the /watch preview)."""
    lines: list[str] = []
    for found in page:
        article = found.article
        when = stamp(article.published_at, tz, lang, Stamp.DATE) if article.published_at else ""
        meta = " · ".join(p for p in (esc(source_name(article)), when) if p)
        others = also_reported(story_sources.get(article.identity, ()))
        if others:
            meta += " · " + text(lang, "search.also", others=others)
        title = link(article.title, article.link, lang)
        lines.append(f"\n• {title}" + (f"\n{meta}" if meta else ""))
        snippet = build_snippet(article, [RuleMatch("query", found.hits)])
        if snippet is not None:
            lines.append(snippet.html)
    return lines


def query_problem_html(problem: QueryProblem, lang: Language | None = None) -> str:
    """A refused query as the rule files' errors read: what, where (a caret under the column in
    a monospace block, so it lines up), and a hint. The frame is in ``lang``; the rule engine's
    message and hint are its own (English)."""
    where = text(lang, "query.column", column=problem.column) if problem.column is not None else ""
    lines = [text(lang, "query.invalid", where=where, message=esc(problem.message))]
    if problem.caret:
        lines.append(f"<pre>{esc(problem.caret)}</pre>")
    if problem.hint:
        lines.append(text(lang, "query.hint", hint=esc(problem.hint)))
    lines.append(text(lang, "query.language"))
    return "\n".join(lines)


class BrowseCommands:
    """``/recent``, ``/search`` and ``/status``."""

    def __init__(
        self,
        services: Services,
        admin_actions: AdminActions | None,
        out: ReplySender,
        searches: RecentSearches | None = None,
    ) -> None:
        self.services = services
        self.out = out
        self.admin_actions = admin_actions
        self.searches = searches if searches is not None else RecentSearches()

    async def recent(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        args = list(context.args or [])
        chat = update.effective_chat
        assert chat is not None
        if len(args) > 1:
            await usage(self.out, update, "recent", text(lang, "recent.one_rule"), lang)
            return
        rule_id: str | None = None
        if args:
            rule = find_rule(self.services.rules, args[0])
            if rule is None:
                problem = unknown_rule(self.services.rules, args[0], lang)
                await usage(self.out, update, "recent", problem, lang)
                return
            rule_id = rule.id
        elif not await self.services.storage.subscriptions(chat.id):
            await reply(self.out, update, text(lang, "recent.no_subscriptions"))
            return
        page, markup = await recent_page(self.services, chat.id, rule_id, 0)
        await reply(self.out, update, page, markup)

    async def search(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        chat = update.effective_chat
        assert chat is not None
        query = " ".join(context.args or []).strip()
        if not query:
            await usage(self.out, update, "search", text(lang, "search.give_query"), lang)
            return
        page, markup = await search_page(self.services, self.searches, chat.id, query, 0)
        await reply(self.out, update, page, markup)

    async def status(self, update: Update, context: Context) -> None:
        settings = self.services.settings
        lang = chat_language(self.services, update)
        if not await gate(settings, self.out, update, lang):
            return
        chat = update.effective_chat
        assert chat is not None
        storage = self.services.storage
        feeds = await storage.list_feeds()
        active = [f for f in feeds if f.enabled and not f.disabled_reason]
        rules = all_rules(self.services.rules)
        subs = await storage.subscription_details(chat.id)
        waiting = await storage.pending_count(chat.id)

        def count(n: int, word: str) -> str:
            return plural(n, word) if lang in (None, Language.EN) else str(n)

        lines = [
            text(
                lang,
                "status.watching",
                feeds=count(len(active), "feed"),
                rules=count(len(rules), "rule"),
            ),
            text(
                lang,
                "status.chat",
                subscriptions=count(len(subs), "subscription"),
                waiting=count(waiting, "alert"),
            ),
        ]
        if subs and subs[0].muted_until and subs[0].muted_until > self.services.clock.now():
            tz = self.services.chat_prefs.tz(chat.id, settings.tz)  # the chat's /settings
            local = stamp(subs[0].muted_until, tz, lang, Stamp.DAY_TIME_ZONE)
            lines.append(text(lang, "status.muted", when=local))
        user = update.effective_user
        if is_admin(settings, user.id if user else None) and self.admin_actions is not None:
            lines.append("")
            lines.append(esc(await self.admin_actions.status_text(lang)))
        await reply(self.out, update, "\n".join(lines))
