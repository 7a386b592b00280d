"""Hot reload: a saved change is validated and swapped in; an invalid file is reported with its
exact location and the last good rules stay in force. Real files, real watcher."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config.rule_files import load_rules_dir
from bot.runtime.rules_reloader import RuleReloader, rule_changes
from bot.services import RuleHolder
from core.models import Article
from rules import RuleSet, compile_ruleset

SEA = "rules:\n  - id: sea\n    name: Sea\n    query: '\"East Sea\"'\n"
SEA_AND_LAND = SEA + "  - id: land\n    name: Land\n    query: land\n"
BROKEN = "rules:\n  - id: sea\n    name: Sea\n    query: '\"East Sea\" OR (a'\n"


class Recorder:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.reloads: list[tuple[RuleSet, RuleSet]] = []
        self.changed = asyncio.Event()

    async def on_error(self, message: str) -> None:
        self.errors.append(message)
        self.changed.set()

    async def on_reload(self, new: RuleSet, old: RuleSet) -> None:
        self.reloads.append((new, old))
        self.changed.set()


async def until(condition: Callable[[], bool], event: asyncio.Event, timeout_s: float = 10) -> None:
    """Wait for ``condition`` (re-checked each time ``event`` fires), at most ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            event.clear()
            await event.wait()


def ids(rules: RuleSet) -> list[str]:
    return [r.id for r in rules.rules]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "sea.yaml").write_text(SEA)
    return tmp_path


async def test_reload_now_swaps_valid_rules_and_keeps_them_on_error(folder: Path) -> None:
    holder = RuleHolder(load_rules_dir(folder))
    rec = Recorder()
    reloader = RuleReloader(folder, holder, rec.on_error, rec.on_reload)

    (folder / "sea.yaml").write_text(SEA_AND_LAND)
    assert await reloader.reload_now() is True
    assert ids(holder.current) == ["sea", "land"]
    (new, old) = rec.reloads[-1]
    assert new is holder.current
    assert ids(old) == ["sea"]

    (folder / "sea.yaml").write_text(BROKEN)
    assert await reloader.reload_now() is False
    assert ids(holder.current) == ["sea", "land"]  # the last good rules stay
    assert rec.errors == [
        f"{folder / 'sea.yaml'}:4:27: unclosed '('\n"
        "        query: '\"East Sea\" OR (a'\n"
        "                              ^\n"
        "  hint: add the matching ')'"
    ]
    assert len(rec.reloads) == 1


async def test_unchanged_files_do_not_swap(folder: Path) -> None:
    holder = RuleHolder(RuleSet.empty())
    rec = Recorder()
    reloader = RuleReloader(folder, holder, rec.on_error, rec.on_reload)
    assert await reloader.reload_now()
    first = holder.current
    assert await reloader.reload_now()
    assert holder.current is first
    assert len(rec.reloads) == 1


async def test_watcher_applies_a_saved_change_and_rejects_a_broken_one(folder: Path) -> None:
    holder = RuleHolder(load_rules_dir(folder))
    rec = Recorder()
    reloader = RuleReloader(folder, holder, rec.on_error, rec.on_reload, debounce_ms=50)
    task = asyncio.create_task(reloader.run())
    try:
        # the watcher may start after our first write: keep saving until it sees one
        async def saved(text: str, done: Callable[[], bool]) -> None:
            async with asyncio.timeout(15):
                while not done():
                    (folder / "sea.yaml").write_text(text)
                    try:
                        await asyncio.wait_for(until(done, rec.changed), 1.0)
                    except TimeoutError:
                        continue

        await saved(SEA_AND_LAND, lambda: ids(holder.current) == ["sea", "land"])
        await saved(BROKEN, lambda: bool(rec.errors))
        assert "sea.yaml:4:27: unclosed '('" in rec.errors[-1]
        assert ids(holder.current) == ["sea", "land"]
        # a new file with a rule that came back, next to the repaired one
        (folder / "zz.yml").write_text("rules:\n  - id: sea2\n    name: S\n    query: sea\n")
        await saved(SEA, lambda: ids(holder.current) == ["sea", "sea2"])
        article = Article(feed_url="f", identity="i", title="East Sea")
        assert [m.rule_id for m in holder.current.match(article)] == ["sea", "sea2"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_missing_folder_is_reported(tmp_path: Path) -> None:
    rec = Recorder()
    reloader = RuleReloader(tmp_path / "nope", RuleHolder(RuleSet.empty()), rec.on_error)
    task = asyncio.create_task(reloader.run())
    try:
        await until(lambda: bool(rec.errors), rec.changed)
        assert rec.errors == [f"{tmp_path / 'nope'}: rules folder not found; watching for it"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_rule_changes_names_added_removed_and_changed() -> None:
    old = compile_ruleset({"a.yaml": SEA_AND_LAND})
    new = compile_ruleset(
        {"a.yaml": SEA.replace("East Sea", "South China Sea") + "  - {id: x, name: X, query: x}\n"}
    )
    changes = rule_changes(new, old)
    assert (changes.added, changes.removed, changes.changed) == (("x",), ("land",), ("sea",))
    assert changes.summary() == "added: x; removed: land; changed: sea"
    assert not rule_changes(old, old)


async def test_a_reloader_with_a_cache_compiles_each_content_once(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rules import loader
    from rules.cache import RuleCache

    monkeypatch.setattr(loader, "SMALL_SOURCES", 0)  # cache even these small files
    compiles: list[int] = []
    real = loader._compile_parts

    async def counting(sources: dict[str, str]) -> list[bytes]:
        compiles.append(1)
        return await real(sources)

    monkeypatch.setattr(loader, "_compile_parts", counting)
    cache = RuleCache(tmp_path_factory.mktemp("cache") / "rules")
    rec = Recorder()
    first = RuleReloader(folder, RuleHolder(RuleSet.empty()), rec.on_error, cache=cache)
    assert await first.reload_now()
    (folder / "sea.yaml").write_text(SEA_AND_LAND)
    assert await first.reload_now()
    (folder / "sea.yaml").write_text(SEA)  # back to the first content: from the cache
    assert await first.reload_now()
    assert ids(first.holder.current) == ["sea"]
    holder = RuleHolder(RuleSet.empty())  # a restart: a new reloader, the same cache
    assert await RuleReloader(folder, holder, rec.on_error, cache=cache).reload_now()
    assert ids(holder.current) == ["sea"]
    assert len(compiles) == 2
    assert rec.errors == []
