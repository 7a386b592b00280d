"""Hot reload of the rules folder while the bot runs.

``RuleReloader.run`` watches the folder (watchfiles) and, after a saved change settles for
``debounce_ms``, reads and compiles every rule file. Valid: the new rule set is swapped in
atomically through ``RuleHolder.swap`` and ``on_reload(new, old)`` is awaited. Invalid:
``on_error(message)`` is awaited with the exact error (file:line:col, caret, hint) and the last
good rules stay in force; the same error again is neither logged nor reported a second time,
and the first valid reload after an error awaits ``on_recovered(new)`` (the admins' all-clear).
A change that leaves the files as they were does nothing.

With ``compose``, the sources compiled are ``compose(file_sources)`` (the rule files plus the
personal rules saved from the chat, ``bot.personal_rules``); ``recompose()`` recompiles the last
good rule files with what ``compose`` gives now, after a personal rule changed, without reading
the folder (so a broken file is not reported again).

Compiling runs in a worker process (``rules.loader.load_off_loop``) and the new set is
rebuilt here part by part, so a large rule set does not stall the event loop; with a
``RuleCache``, files whose exact contents were compiled before (a revert, a restart) are
rebuilt from the cache instead of compiled, and new compiles are cached; the new set is
frozen for the garbage collector as it arrives, like the start-up one (``gc.freeze`` in the
app), so later collections do not walk it. Does not log or message anyone itself: the
callbacks decide where errors and changes are reported.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from bot.config.rule_files import read_rule_sources
from bot.services import RuleHolder
from core.errors import RuleError
from rules import RuleSet
from rules.cache import RuleCache
from rules.loader import load_off_loop

log = logging.getLogger(__name__)

OnError = Callable[[str], Awaitable[None]]
OnReload = Callable[[RuleSet, RuleSet], Awaitable[None]]
Compose = Callable[[dict[str, str]], dict[str, str]]
OnRecovered = Callable[[RuleSet], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RuleChanges:
    """What a reload changed, by rule id (for the log and the admins' message)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]  # same id, different query, scope or description

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        parts = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
            if ids
        ]
        return "; ".join(parts) or "no rule changed"


def rule_changes(new: RuleSet, old: RuleSet) -> RuleChanges:
    """Rules added, removed and changed between two rule sets, in rule order.

    Subscriptions to a removed rule are kept by storage; this only names the rules so the
    caller can report them (and a rule that comes back is simply "added" again).
    """
    old_rules = {r.info.id: r for r in old.compiled_rules}
    new_rules = {r.info.id: r for r in new.compiled_rules}
    added = tuple(i for i in new_rules if i not in old_rules)
    removed = tuple(i for i in old_rules if i not in new_rules)
    changed = tuple(
        i
        for i, rule in new_rules.items()
        if i in old_rules
        and (rule.info, rule.query, rule.feeds, rule.feed_tags)
        != (old_rules[i].info, old_rules[i].query, old_rules[i].feeds, old_rules[i].feed_tags)
    )
    return RuleChanges(added, removed, changed)


class RuleReloader:
    """Watches ``rules_dir`` and keeps ``holder`` on the newest valid rules."""

    def __init__(
        self,
        rules_dir: Path,
        holder: RuleHolder,
        on_error: OnError,
        on_reload: OnReload | None = None,
        debounce_ms: int = 300,
        cache: RuleCache | None = None,
        compose: Compose | None = None,
        on_recovered: OnRecovered | None = None,
    ) -> None:
        self.rules_dir = rules_dir
        self.cache = cache
        self.holder = holder
        self.on_error = on_error
        self.on_reload = on_reload
        self.debounce_ms = debounce_ms
        self._last_sources: dict[str, str] | None = None
        self._last_error: str | None = None
        self._lock = asyncio.Lock()
        self.compose = compose
        self.on_recovered = on_recovered
        self._file_sources: dict[str, str] | None = None  # the last good rule files

    async def reload_now(self) -> bool:
        """Read and compile the folder now. True when the rules in force match the files."""
        async with self._lock:  # two saves in a row must not swap out of order
            try:
                files = await asyncio.to_thread(read_rule_sources, self.rules_dir)
                sources = self.compose(files) if self.compose is not None else files
                if sources == self._last_sources:
                    return True
                # gc.freeze after each part: the collector would otherwise walk the growing
                # new set in full passes (pauses of 100-400 ms at 100,000 rules)
                new = await load_off_loop(sources, self.cache, between=gc.freeze)
            except RuleError as e:
                message = str(e)
                if message == self._last_error:
                    return False  # the same error, already logged and reported once
                self._last_error = message
                # One record per line: a log line cannot show the caret under a column.
                log.warning("rules rejected, the previous rules stay in force:")
                for line in message.splitlines():
                    log.warning("rules rejected | %s", line)
                await self.on_error(message)
                return False
            old = self.holder.swap(new)
            gc.freeze()  # the new set's last parts too; the old one is freed by refcounting
            self._last_sources = sources
            self._file_sources = files
            recovered, self._last_error = self._last_error is not None, None
            # ~0.1 s of dict building at 100,000 rules a side: in a thread, so the loop keeps
            # its turns (both sets are immutable)
            changes = await asyncio.to_thread(rule_changes, new, old)
            log.info("rules reloaded: %d rules (%s)", len(new.rules), changes.summary())
            if self.on_reload is not None:
                await self.on_reload(new, old)
            if recovered and self.on_recovered is not None:
                await self.on_recovered(new)
            return True

    async def recompose(self) -> bool:
        """Recompile the last good rule files with what ``compose`` gives now (a personal rule
        changed). Before the first good reload there are no files known: it reloads instead.
        True when the new rule set is in force."""
        if self._file_sources is None or self.compose is None:
            return await self.reload_now()
        async with self._lock:
            sources = self.compose(self._file_sources)
            if sources == self._last_sources:
                return True
            try:
                # The same path as a reload: the whole set (files and personal rules) from the
                # cache, or compiled in a worker process (and cached), rebuilt here part by
                # part and frozen for the collector.
                new = await load_off_loop(sources, self.cache, between=gc.freeze)
            except RuleError as e:
                # Personal rules are validated when saved: this would be a bug, not a user's typo.
                log.error("personal rules rejected, the previous rules stay in force:\n%s", e)
                return False
            old = self.holder.swap(new)
            gc.freeze()  # the new set's last parts too; the old one is freed by refcounting
            self._last_sources = sources
            changes = await asyncio.to_thread(rule_changes, new, old)
            log.info("rules recompiled: %s", changes.summary())
            if self.on_reload is not None:
                await self.on_reload(new, old)
            return True

    def mark_loaded(self, sources: dict[str, str]) -> None:
        """Tell the reloader which file contents the rules in force came from (start-up)."""
        self._last_sources = dict(sources)
        self._file_sources = dict(sources)  # what ``recompose`` composes the personal rules with

    async def run(self) -> None:
        """Watch the folder until cancelled; each settled change triggers ``reload_now``."""
        while True:
            if not self.rules_dir.is_dir():
                await self.on_error(f"{self.rules_dir}: rules folder not found; watching for it")
                # nothing signals a folder's creation in a parent we do not watch: poll
                while not self.rules_dir.is_dir():  # noqa: ASYNC110
                    await asyncio.sleep(2.0)
                await self.reload_now()
            try:
                async for _changes in watchfiles.awatch(
                    self.rules_dir,
                    debounce=self.debounce_ms,
                    step=50,
                    recursive=False,
                    ignore_permission_denied=True,
                ):
                    await self.reload_now()
            except FileNotFoundError:
                pass  # the folder went away: report it and wait for it to come back
            await asyncio.sleep(1.0)
