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


async def test_personal_rules_are_compiled_with_the_files_and_survive_a_broken_file(
    folder: Path,
) -> None:
    # compose adds the rules saved from the chat; recompose puts a change to them in force
    # with the last good files, without reading (or reporting) a broken folder again.
    personal = {"<personal rules>": "rules: []\n"}
    holder = RuleHolder(RuleSet.empty())
    rec = Recorder()
    reloader = RuleReloader(
        folder, holder, rec.on_error, rec.on_reload, compose=lambda files: {**files, **personal}
    )
    assert await reloader.recompose()  # nothing loaded yet: a full reload
    assert ids(holder.current) == ["sea"]
    (folder / "sea.yaml").write_text(BROKEN)
    assert not await reloader.reload_now()
    personal["<personal rules>"] = "rules:\n  - id: u5-1\n    name: Mine\n    query: land\n"
    assert await reloader.recompose()
    assert ids(holder.current) == ["sea", "u5-1"]
    assert len(rec.errors) == 1  # the broken file was reported once
    (folder / "sea.yaml").write_text(SEA_AND_LAND)
    assert await reloader.reload_now()
    assert ids(holder.current) == ["sea", "land", "u5-1"]


async def test_recompose_loads_like_a_reload(
    folder: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A personal rule's change recompiles the whole set (files and personal rules) the way a
    # reload does: ``load_off_loop`` with the reloader's cache (a worker process for large
    # sets), not a compile in the event loop's thread.
    from bot.runtime import rules_reloader
    from rules.cache import RuleCache
    from rules.loader import load_off_loop as real

    calls: list[tuple[list[str], RuleCache | None]] = []

    async def counted(
        sources: dict[str, str],
        cache: RuleCache | None = None,
        between: Callable[[], object] | None = None,
    ) -> RuleSet:
        calls.append((list(sources), cache))
        return await real(sources, cache, between=between)

    monkeypatch.setattr(rules_reloader, "load_off_loop", counted)
    cache = RuleCache(tmp_path_factory.mktemp("cache") / "rules")
    personal = {"<personal rules>": "rules: []\n"}
    holder = RuleHolder(RuleSet.empty())
    rec = Recorder()
    reloader = RuleReloader(
        folder,
        holder,
        rec.on_error,
        rec.on_reload,
        compose=lambda files: {**files, **personal},
        cache=cache,
    )
    assert await reloader.reload_now()
    personal["<personal rules>"] = "rules:\n  - id: u5-1\n    name: Mine\n    query: land\n"
    assert await reloader.recompose()
    assert ids(holder.current) == ["sea", "u5-1"]
    assert len(calls) == 2
    assert calls[1] == ([str(folder / "sea.yaml"), "<personal rules>"], cache)


async def test_an_error_is_reported_once_and_the_fix_gets_an_all_clear(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = RuleHolder(load_rules_dir(folder))
    rec = Recorder()
    recovered: list[RuleSet] = []

    async def on_recovered(new: RuleSet) -> None:
        recovered.append(new)

    reloader = RuleReloader(folder, holder, rec.on_error, on_recovered=on_recovered)
    (folder / "sea.yaml").write_text(BROKEN)
    with caplog.at_level("WARNING", logger="bot.runtime.rules_reloader"):
        assert not await reloader.reload_now()
        (folder / "sea.yaml").write_text(BROKEN + "\n")  # saved again, same error
        assert not await reloader.reload_now()
    assert len(rec.errors) == 1
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "rules rejected, the previous rules stay in force:"
    assert lines[1].endswith("sea.yaml:4:27: unclosed '('")
    assert lines[3] == "rules rejected |                               ^"  # the caret, readable
    assert len(lines) == 1 + len(rec.errors[0].splitlines())  # logged once
    assert recovered == []
    (folder / "sea.yaml").write_text(SEA_AND_LAND)
    assert await reloader.reload_now()
    assert [ids(r) for r in recovered] == [["sea", "land"]]
    (folder / "sea.yaml").write_text(SEA)
    assert await reloader.reload_now()
    assert len(recovered) == 1  # an all-clear only after an error


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
