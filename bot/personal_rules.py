"""Personal rules: rules a chat saves from the chat (``/watch``), kept in the database and
matched by the pipeline with the rule files' own compiler and engine.

A personal rule is stored as (chat, number, name, query, id). Its id is given when it is saved,
``u<chat>-<number>`` (``personal_rule_id``; the rule-file compiler refuses such ids in files, so the
two can never collide), and kept for good: when its group becomes a supergroup the rule moves to the
new chat id with the same id (``Storage.migrate_chat``), so the chat named in an id is where the
rule was saved, not always its owner (``find`` asks storage). It is compiled from one extra source
(``rules.PERSONAL_SOURCE``) next to the rule files: ``PersonalRules.compose(file_sources)`` is what
the rules reloader compiles, and ``PersonalRules.refresh()`` recompiles after a personal rule
changed (through the injected ``rebuild``: the reloader's, which keeps the last good rule files).
Saving subscribes only the owning chat; paused rules are left out of the rule set, so nothing
matches them.

``preview`` says how many stored stories a query would have matched in the last 30 days and
shows the newest three (``bot.search``). Shared by the Telegram handlers, the runtime and the
command line; formats nothing for Telegram and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.config.rule_files import append_promoted_rule
from bot.search import Found, QueryProblem, compile_query, search_stored
from bot.services import Services
from core.errors import ConfigError
from rules import PERSONAL_ID_RE, PERSONAL_SOURCE
from storage.base import PersonalRule
from storage.base import personal_rule_id as personal_rule_id

log = logging.getLogger(__name__)

PREVIEW_DAYS = 30
PREVIEW_SHOWN = 3
MAX_NAME_CHARS = 60

Rebuild = Callable[[], Awaitable[object]]


class LimitReached(Exception):
    """The chat already has as many personal rules as the admin allows (``limit``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"this chat already has {limit} personal rules, the most allowed")
        self.limit = limit


class RuleIdTaken(ConfigError):
    """``promote`` was given the id of a rule already in force (``rule_id``); nothing changed.
    The message is English (logs, the command line); the chat words it in its language."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"a rule called {rule_id!r} already exists; choose another id")
        self.rule_id = rule_id


def is_personal_rule_id(rule_id: str) -> bool:
    return PERSONAL_ID_RE.match(rule_id) is not None


def normalise_query(text: str) -> str:
    """The query as saved: whitespace runs folded to one space (as ``compile_query`` reads it)."""
    return " ".join(text.split())


def default_name(query: str) -> str:
    """A rule's name when none is given: its query, shortened."""
    query = normalise_query(query)
    return query if len(query) <= MAX_NAME_CHARS else query[: MAX_NAME_CHARS - 1] + "…"


def yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar. Not ``json.dumps``: its surrogate-pair escapes
    for emoji are refused by YAML, so only quotes, backslashes and unprintable characters are
    escaped here and everything else (emoji, Vietnamese) stays as it is."""
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif (
            code < 0x20
            or 0x7F <= code < 0xA0
            or code in (0x2028, 0x2029, 0xFEFF)
            or (0xD800 <= code < 0xE000)
        ):
            out.append(f"\\u{code:04x}" if not 0xD800 <= code < 0xE000 else "\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def personal_source(rules: Iterable[PersonalRule]) -> str:
    """The YAML rule source of the unpaused ``rules`` (names double-quoted, ``yaml_quoted``;
    queries in block scalars, exactly as typed)."""
    lines = ["rules:"]
    for rule in rules:
        if rule.paused:
            continue
        lines += [
            f"  - id: {rule.rule_id}",
            f"    name: {yaml_quoted(rule.name)}",
            "    tags: [personal]",
            "    query: |-",
            f"      {normalise_query(rule.query)}",
        ]
    return "\n".join(lines) + "\n" if len(lines) > 1 else "rules: []\n"


def promoted_entry(rule: PersonalRule, new_id: str) -> str:
    """A rule-file entry (YAML, indented for a ``rules:`` list) for a promoted personal rule."""
    return (
        f"  - id: {new_id}\n"
        f"    name: {yaml_quoted(rule.name)}\n"
        f"    description: {yaml_quoted(f'Promoted from personal rule {rule.rule_id}')}\n"
        "    query: |-\n"
        f"      {normalise_query(rule.query)}\n"
    )


@dataclass(frozen=True, slots=True)
class Preview:
    """What a query would have done: ``total`` matches among ``scanned`` stories published in
    the last ``days`` days, and the newest few."""

    query: str
    total: int
    scanned: int
    days: int
    newest: tuple[Found, ...]


async def preview(services: Services, query: str) -> Preview:
    """The stored stories of the last 30 days ``query`` matches; ``QueryProblem`` when the query
    is not valid. Reads only."""
    query = normalise_query(query)
    since = services.clock.now() - timedelta(days=PREVIEW_DAYS)
    result = await search_stored(services.storage, query, since=since, limit=PREVIEW_SHOWN)
    return Preview(query, result.total, result.scanned, PREVIEW_DAYS, result.page)


class PersonalRules:
    """The personal rules of every chat, as the rule set in force should carry them."""

    def __init__(
        self,
        services: Services,
        rebuild: Rebuild | None = None,
        reload_files: Rebuild | None = None,
    ) -> None:
        self.services = services
        self.rebuild = rebuild
        # Reads the rule files again (a promotion wrote one); without it, ``rebuild``.
        self.reload_files = reload_files
        self._source = personal_source(())
        self._valid: set[str] = set()  # queries already checked by compile_query

    @property
    def limit(self) -> int:
        return self.services.settings.personal_rules_per_chat

    def compose(self, file_sources: Mapping[str, str]) -> dict[str, str]:
        """The sources to compile: the rule files, then the personal rules."""
        return {**file_sources, PERSONAL_SOURCE: self._source}

    async def load(self) -> None:
        """Read every chat's personal rules from storage (for the next ``compose``). A stored
        query the rule engine no longer accepts is left out (and logged) rather than stop every
        other rule, the files' included, from compiling."""
        usable = []
        for rule in await self.services.storage.personal_rules():
            if rule.paused or rule.query in self._valid:
                usable.append(rule)
                continue
            try:
                compile_query(rule.query)
            except QueryProblem as e:
                log.warning(
                    "personal rule left out: %s",
                    e,
                    extra={"rule": rule.rule_id},
                )
                continue
            self._valid.add(rule.query)
            usable.append(rule)
        self._source = personal_source(usable)

    async def refresh(self) -> None:
        """``load``, then recompile the rule set in force with them."""
        await self.load()
        if self.rebuild is not None:
            await self.rebuild()

    async def of_chat(self, chat_id: int) -> list[PersonalRule]:
        return await self.services.storage.personal_rules(chat_id)

    async def every_chat(self) -> list[PersonalRule]:
        return await self.services.storage.personal_rules()

    async def save(
        self,
        chat_id: int,
        query: str,
        *,
        user_id: int | None,
        thread_id: int | None = None,
        name: str | None = None,
    ) -> PersonalRule:
        """Validate ``query`` (``QueryProblem``), save it as the chat's next personal rule
        (``LimitReached`` at the admin's limit), subscribe the chat (in its forum topic) and
        put it in force."""
        query = normalise_query(query)
        compile_query(query)
        storage = self.services.storage
        saved = await storage.add_personal_rule(
            chat_id,
            name or default_name(query),
            query,
            limit=self.limit,
            created_by=user_id,
            now=self.services.clock.now(),
        )
        if saved is None:
            raise LimitReached(self.limit)
        await storage.subscribe(chat_id, saved.rule_id, thread_id)
        await self.refresh()
        log.info("personal rule saved", extra={"chat": chat_id, "rule": saved.rule_id})
        return saved

    async def edit(self, chat_id: int, number: int, query: str) -> PersonalRule | None:
        """Replace one rule's query (validated first: ``QueryProblem``); None when the chat has
        no such rule. The name follows the query."""
        query = normalise_query(query)
        compile_query(query)
        changed = await self.services.storage.update_personal_rule(
            chat_id, number, query=query, name=default_name(query), now=self.services.clock.now()
        )
        if changed is not None:
            await self.refresh()
        return changed

    async def set_paused(self, chat_id: int, number: int, paused: bool) -> PersonalRule | None:
        """Pause (nothing matches it) or resume one rule; None when there is no such rule."""
        changed = await self.services.storage.update_personal_rule(
            chat_id, number, paused=paused, now=self.services.clock.now()
        )
        if changed is not None:
            await self.refresh()
        return changed

    async def delete(self, chat_id: int, number: int) -> bool:
        """Delete one rule and the chat's subscription to it; False when there was none."""
        storage = self.services.storage
        deleted = await storage.delete_personal_rule(chat_id, number)
        if deleted is None:
            return False
        await storage.unsubscribe(chat_id, deleted.rule_id)
        await self.refresh()
        return True

    async def find(self, rule_id: str) -> PersonalRule | None:
        """The personal rule behind ``rule_id`` with the chat that owns it now (any chat's;
        after a migration not the chat the id names), or None."""
        if not is_personal_rule_id(rule_id):
            return None
        return await self.services.storage.personal_rule(rule_id)

    async def promote(self, rule: PersonalRule, new_id: str, rules_dir: Path) -> Path:
        """Make a personal rule a rule-file rule ``new_id``: append it to the rules folder's
        ``promoted.yaml``, move the owner's subscription to it and delete the personal rule.
        ``ConfigError`` (nothing changed) for a taken id (``RuleIdTaken``), a bad one or a file
        that cannot be written. The file rule is in force once the rules reloader has read the
        file."""
        if self.services.rules.current.get(new_id) is not None:
            raise RuleIdTaken(new_id)
        path = append_promoted_rule(rules_dir, promoted_entry(rule, new_id))
        storage = self.services.storage
        old_id = rule.rule_id
        details = {s.rule_id: s for s in await storage.subscription_details(rule.chat_id)}
        thread = details[old_id].thread_id if old_id in details else None
        await storage.subscribe(rule.chat_id, new_id, thread)
        await storage.delete_personal_rule(rule.chat_id, rule.number)
        await storage.unsubscribe(rule.chat_id, old_id)
        # Read the files now, with promoted.yaml: the new rule is in force at once and no
        # reload in between finds its subscription without its rule.
        await self.load()
        reload = self.reload_files or self.rebuild
        if reload is not None:
            await reload()
        log.info("personal rule promoted", extra={"rule": old_id, "to": new_id, "file": str(path)})
        return path
