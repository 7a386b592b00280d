"""The compiled-set cache: keyed by content and engine, written atomically, and nothing read
back trusted blindly (a corrupt, foreign, forged or shared file is ignored with a log line)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import pickle
from pathlib import Path

import pytest

from core.errors import RuleError
from core.models import Article
from rules import RuleSet, compile_ruleset
from rules import loader as loader_module
from rules.cache import KEEP, MAGIC, RuleCache, cache_key, safe_loads
from rules.loader import load_off_loop, pack, unpack
from tests.rules.test_loader import big_rules

SOURCES = {"a.yaml": big_rules(30)}
ARTICLE = Article(feed_url="f", identity="i", title="word3 sea", content="w7 here")


def forged_file(cache: RuleCache, key: str, body: bytes) -> None:
    """A file with a valid header and checksum around ``body`` (as an attacker would write)."""
    cache.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = MAGIC + hashlib.sha256(body).digest() + body
    cache.path(key).write_bytes(data)
    cache.path(key).chmod(0o600)


def test_the_key_depends_on_every_name_and_text_and_their_order() -> None:
    base = cache_key({"a.yaml": "x", "b.yaml": "y"})
    assert cache_key({"a.yaml": "x", "b.yaml": "y"}) == base
    assert cache_key({"a.yaml": "x", "b.yaml": "y "}) != base
    assert cache_key({"a.yml": "x", "b.yaml": "y"}) != base
    assert cache_key({"b.yaml": "y", "a.yaml": "x"}) != base
    assert cache_key({"a.yaml": "xb.yaml", "": "y"}) != base  # lengths are part of the key


def test_a_stored_set_loads_back_equal(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "rules")
    rules = compile_ruleset(SOURCES)
    key, parts = cache.lookup(SOURCES)
    assert parts is None
    assert cache.store(key, pack(rules))
    assert (tmp_path / "rules").stat().st_mode & 0o777 == 0o700
    assert cache.path(key).stat().st_mode & 0o777 == 0o600
    key2, parts = cache.lookup(SOURCES)
    assert key2 == key
    assert parts is not None
    copy = unpack(parts)
    assert copy.compiled_rules == rules.compiled_rules
    assert copy.decide(ARTICLE).rule_ids == rules.decide(ARTICLE).rule_ids == ("r3", "r7")
    assert cache.lookup({"a.yaml": big_rules(31)})[1] is None  # other content: a miss


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # a flipped bit
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"something else entirely",  # not ours
        lambda data: b"",
    ],
)
def test_a_damaged_file_is_ignored_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    cache = RuleCache(tmp_path)
    key = cache_key(SOURCES)
    cache.store(key, pack(compile_ruleset(SOURCES)))
    path = cache.path(key)
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="rules.cache"):
        assert cache.load(key) is None
    assert "ignored" in caplog.text


def test_a_file_stored_for_another_key_is_ignored(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path)
    key = cache_key(SOURCES)
    cache.store("0" * 64, pack(compile_ruleset(SOURCES)))
    os.replace(cache.path("0" * 64), cache.path(key))  # renamed: its body names the other key
    assert cache.load(key) is None


def test_a_forged_file_cannot_reach_any_other_global(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path)
    key = cache_key(SOURCES)
    # a checksummed body that would call os.getcwd when unpickled by plain pickle
    forged_file(cache, key, pickle.dumps((key, [b"x"], os.getcwd)))
    assert cache.load(key) is None
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        safe_loads(pickle.dumps(os.getcwd))
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        safe_loads(pickle.dumps(RuleSet))  # an engine class, but not a plain data class


def test_a_file_writable_by_others_is_not_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RuleCache(tmp_path / "rules")
    key = cache_key(SOURCES)
    cache.store(key, pack(compile_ruleset(SOURCES)))
    cache.path(key).chmod(0o666)
    with caplog.at_level(logging.WARNING, logger="rules.cache"):
        assert cache.load(key) is None
    assert "writable by others" in caplog.text
    cache.path(key).chmod(0o600)
    assert cache.load(key) is not None
    cache.folder.chmod(0o777)
    assert cache.load(key) is None
    assert not cache.store(key, [])  # and nothing is written into such a folder
    cache.folder.chmod(0o700)


def test_only_the_newest_files_are_kept(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path)
    parts = pack(compile_ruleset(SOURCES))
    keys = [f"{i:064x}" for i in range(KEEP + 2)]
    for i, key in enumerate(keys):
        cache.store(key, parts)
        os.utime(cache.path(key), (1_000_000 + i, 1_000_000 + i))
    stale, fresh = tmp_path / ".tmp-old.rules", tmp_path / ".tmp-new.rules"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")  # maybe another process writing right now: kept
    os.utime(stale, (1_000_000, 1_000_000))
    cache.store(keys[-1], parts)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [fresh.name, *(cache.path(k).name for k in keys[-KEEP:])]
    )


def test_an_unwritable_folder_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = RuleCache(blocker / "rules")
    with caplog.at_level(logging.WARNING, logger="rules.cache"):
        assert not cache.store("k", [])
    assert cache.load("k") is None
    assert "not written" in caplog.text


def test_inconsistent_parts_are_refused() -> None:
    rules = compile_ruleset(SOURCES)
    rules._term_pattern = [len(rules._patterns) + 5] * len(rules.terms)  # out of range
    with pytest.raises(ValueError, match="out of range"):
        unpack(pack(rules))
    parts = pack(compile_ruleset(SOURCES))
    with pytest.raises(ValueError, match="missing"):
        unpack(parts[:-3])


def test_load_off_loop_compiles_once_then_uses_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RuleCache(tmp_path)
    monkeypatch.setattr(loader_module, "SMALL_SOURCES", 0)  # cache even this small set
    calls: list[int] = []
    real = loader_module._compile_parts

    async def counting(sources: dict[str, str]) -> list[bytes]:
        calls.append(1)
        return await real(sources)

    monkeypatch.setattr(loader_module, "_compile_parts", counting)

    async def run() -> None:
        first = await load_off_loop(SOURCES, cache)
        second = await load_off_loop(SOURCES, cache)
        assert first.decide(ARTICLE).rule_ids == second.decide(ARTICLE).rule_ids == ("r3", "r7")
        assert len(calls) == 1
        # a cache file with an inconsistent set inside: logged, compiled again, rewritten
        key = cache_key(SOURCES)
        broken = compile_ruleset(SOURCES)
        broken._always = (10**6,)
        cache.store(key, pack(broken))
        with caplog.at_level(logging.WARNING):
            third = await load_off_loop(SOURCES, cache)
        assert "ignored" in caplog.text
        assert third.decide(ARTICLE).rule_ids == ("r3", "r7")
        assert len(calls) == 2
        assert await load_off_loop(SOURCES, cache) is not None
        assert len(calls) == 2
        with pytest.raises(RuleError):  # errors are never cached
            await load_off_loop(
                {"bad.yaml": "rules:\n  - id: a\n    name: A\n    query: '('\n"}, cache
            )

    asyncio.run(run())
    assert len(list(tmp_path.iterdir())) == 1


def test_small_sources_compile_right_here(tmp_path: Path) -> None:
    async def run() -> RuleSet:
        return await load_off_loop(SOURCES, RuleCache(tmp_path))

    assert asyncio.run(run()).decide(ARTICLE).rule_ids == ("r3", "r7")
    assert not tmp_path.exists() or not list(tmp_path.iterdir())
