"""The rule commands: check, test (file and URL) and backtest, on real files and a local server."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli.rule_commands import cmd_backtest, cmd_check, cmd_test
from core.models import Article, Hit, RuleMatch
from storage import SqlStorage
from storage.base import Feedback

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "config" / "rules"
SEED_US = ROOT / "tests" / "data" / "seeds" / "004_6250e1a77f292923.txt"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(SHIPPED, folder)
    return folder


def run_check(folder: Path) -> tuple[int, str]:
    out = io.StringIO()
    return cmd_check(folder, out), out.getvalue()


def test_check_passes_on_the_shipped_rules() -> None:
    status, text = run_check(SHIPPED)
    assert status == 0
    assert text.startswith(f"OK: 8 rules in 1 file ({SHIPPED})")
    assert "warning" not in text  # and not "1 files"
    assert "csp" in text
    assert "Comprehensive Strategic Partnership" in text


def test_check_fails_with_the_place_of_the_problem(rules_dir: Path) -> None:
    (rules_dir / "bad.yaml").write_text("rules:\n  - id: csp\n    name: X\n    query: x\n")
    status, text = run_check(rules_dir)
    assert status == 1
    assert text.startswith(f"{rules_dir / 'vietnam.yaml'}:") or text.startswith(
        f"{rules_dir / 'bad.yaml'}:2:9: duplicate rule id 'csp'"
    )
    assert "duplicate rule id 'csp'" in text


def test_check_warns_about_lower_case_operators_without_failing(rules_dir: Path) -> None:
    (rules_dir / "draft.yaml").write_text(
        'rules:\n  - id: seas\n    name: Seas\n    query: \'"East Sea" or "South China Sea"\'\n'
        "  - id: sea-sport\n    name: S\n    query: sea not football\n"
        "  - id: quoted\n    name: Q\n    query: 'war \"and\" peace'\n"
    )
    status, text = run_check(rules_dir)
    assert status == 0
    assert "2 warnings:" in text
    assert (
        f"{rules_dir / 'draft.yaml'}:4:24: 'or' is searched as a word here: did you mean OR?"
        in text
    )
    assert (
        f"{rules_dir / 'draft.yaml'}:7:16: 'not' is searched as a word here: did you mean NOT?"
        in text
    )
    assert "'and'" not in text  # quoted: the user asked for the word


def test_check_of_named_files_uses_the_folder_aliases(rules_dir: Path, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text("rules:\n  - id: draft-sea\n    name: Draft\n    query: '@unclos OR x'\n")
    other = tmp_path / "other.yml"
    other.write_text("rules:\n  - id: other\n    name: Other\n    query: y\n")
    status, text = run_check_files(rules_dir, [draft, other])
    assert status == 0, text
    assert text.startswith(f"OK: 2 rules in 2 files ({draft}, {other})")
    assert "draft-sea" in text
    assert "  other " in text
    assert "csp" not in text  # the folder's rules lend their aliases but are not listed


def test_check_of_a_file_with_a_yaml_error_points_where_it_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'rules:\n  - id: a\n    name: A\n    query: "East Sea\n'
        "  - id: b\n    name: B\n    query: x\n"
    )
    status, text = run_check_files(tmp_path, [bad])
    assert status == 1
    first = text.splitlines()[0]
    assert first.startswith(f"{bad}:4:12: invalid YAML: found unexpected end of stream"), text
    assert "while scanning a quoted scalar that starts here" in first


def run_check_files(folder: Path, files: list[Path]) -> tuple[int, str]:
    out = io.StringIO()
    return cmd_check(folder, out, files), out.getvalue()


def run_test(
    rule: str, folder: Path, source: str, *, allow_private: bool = False
) -> tuple[int, str]:
    out = io.StringIO()
    return cmd_test(rule, folder, source, out, allow_private=allow_private), out.getvalue()


def test_rule_test_explains_a_match_with_highlights() -> None:
    status, text = run_test("csp", SHIPPED, str(SEED_US))
    assert status == 0
    assert "csp — Comprehensive Strategic Partnership: MATCHES" in text
    assert "Comprehensive Strategic Partnership: found 6× content" in text
    assert "[Comprehensive Strategic Partnership]" in text
    assert text.rstrip().endswith("1 of 1 rule matched")


def test_rule_test_explains_a_miss_term_by_term() -> None:
    status, text = run_test("vietnam-china", SHIPPED, str(SEED_US))
    assert status == 1
    assert "vietnam-china — Vietnam and China: no match" in text
    assert "  Vietnam: found" in text
    assert "  China: not found" in text
    assert "  Beijing: not found" in text


def test_rule_test_of_a_file_uses_aliases_from_the_folder(rules_dir: Path, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        "rules:\n  - id: draft-sea\n    name: Draft\n    query: '@unclos OR \"East Sea\"'\n"
        "  - id: draft-x\n    name: X\n    query: Narnia AND NOT football\n"
    )
    status, text = run_test(str(draft), rules_dir, str(SEED_US))
    assert status == 0
    assert "draft-sea — Draft: MATCHES" in text
    assert "draft-x — X: no match" in text
    assert "  NOT football: not found" in text
    assert "csp" not in text  # only the file's own rules are tested
    assert text.rstrip().endswith("1 of 2 rules matched")


def test_rule_test_errors(rules_dir: Path, tmp_path: Path) -> None:
    status, text = run_test("nope", rules_dir, str(SEED_US))
    assert status == 2
    assert "no rule 'nope'" in text
    status, text = run_test("csp", rules_dir, str(tmp_path / "missing.txt"))
    assert status == 2
    assert "missing.txt: cannot read" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: b\n    name: B\n    query: '(x'\n")
    status, text = run_test(str(bad), rules_dir, str(SEED_US))
    assert status == 2
    assert f"{bad}:4:13: unclosed '('" in text


async def test_rule_test_fetches_a_web_page() -> None:
    html = (
        "<html><head><title>Hanoi and Washington talk</title></head><body><article>"
        "<h1>Hanoi and Washington talk</h1>"
        + "<p>Vietnam and the US discussed the East Sea and UNCLOS in Hanoi on Monday, "
        "agreeing to work on their Comprehensive Strategic Partnership.</p>"
        * 3
        + "</article></body></html>"
    )

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/story", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/story"
        # The bot's fetcher and address policy (#16): loopback is refused unless allowed.
        status, text = await asyncio.to_thread(run_test, "east-sea", SHIPPED, url)
        assert status == 2
        assert "cannot fetch: blocked address" in text
        assert "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES=true" in text
        status, text = await asyncio.to_thread(
            lambda: run_test("east-sea", SHIPPED, url, allow_private=True)
        )
        assert status == 0, text
        assert "'Hanoi and Washington talk'" in text
        assert "[East Sea]" in text
        assert "[UNCLOS]" in text
        status, text = await asyncio.to_thread(
            lambda: run_test(
                "east-sea", SHIPPED, f"http://127.0.0.1:{port}/missing", allow_private=True
            )
        )
        assert status == 2
        assert "cannot fetch" in text
    finally:
        await runner.cleanup()


class FakeArchive:
    """Implements only what backtest uses of storage."""

    def __init__(self, stored: list[tuple[Article, tuple[str, ...]]]) -> None:
        self.stored = stored

    async def iter_articles(
        self, batch: int = 500
    ) -> AsyncIterator[tuple[Article, tuple[str, ...]]]:
        for item in self.stored:
            yield item


async def test_backtest_compares_would_fire_with_did_fire(tmp_path: Path) -> None:
    file = tmp_path / "new.yaml"
    file.write_text(
        "rules:\n  - id: sea\n    name: Sea\n    query: '\"East Sea\"'\n"
        "  - id: us\n    name: US\n    query: =US\n"
    )

    def art(i: int, title: str) -> Article:
        return Article(feed_url="http://127.0.0.1/f", identity=str(i), title=title)

    archive = FakeArchive(
        [
            (art(1, "East Sea patrol"), ("sea",)),  # both
            (art(2, "East Sea talks with the US"), ("sea",)),  # us is new
            (art(3, "Join us"), ("us",)),  # us is gone: exact case now
            (art(4, "Weather"), ()),
        ]
    )
    out = io.StringIO()
    assert await cmd_backtest(file, archive, out) == 0
    text = out.getvalue()
    assert f"backtest of {file} over 4 stored articles" in text
    rows = {
        line.split()[0]: line.split()[1:]
        for line in text.splitlines()
        if line[:3] in ("sea", "us ")
    }
    assert rows["sea"] == ["2", "2", "0", "0"]
    assert rows["us"] == ["1", "1", "1", "1"]
    assert "  us: East Sea talks with the US" in text
    assert "  us: Join us" in text


async def test_backtest_shows_what_the_chat_marked_not_relevant(tmp_path: Path) -> None:
    file = tmp_path / "new.yaml"
    file.write_text("rules:\n  - id: sea\n    name: Sea\n    query: '\"East Sea\" AND NOT talks'\n")
    archive = FakeArchive(
        [
            (Article(feed_url="f", identity="1", title="East Sea talks"), ("sea",)),
            (Article(feed_url="f", identity="2", title="East Sea patrol"), ("sea",)),
        ]
    )
    when = datetime(2025, 7, 11, tzinfo=UTC)
    marks = [
        Feedback(5, "sea", "1", "East Sea talks", None, 7, when),
        Feedback(5, "sea", "2", "East Sea patrol", None, 7, when),
        Feedback(5, "sea", "9", "Pruned story", None, 7, when),
        Feedback(5, "other", "2", "East Sea patrol", None, 7, when),  # not a rule of the file
    ]
    out = io.StringIO()
    assert await cmd_backtest(file, archive, out, feedback=marks) == 0
    text = out.getvalue()
    assert "marked not relevant in the chat (3):\n" in text
    assert "  sea: East Sea talks — no longer fires\n" in text
    assert "  sea: East Sea patrol — still fires\n" in text
    assert "  sea: Pruned story — article pruned, not replayed\n" in text


async def test_backtest_on_a_database_counts_as_on_a_plain_archive(
    tmp_path: Path, database_url: str
) -> None:
    """Through the word index (a real SqlStorage) or article by article (a plain archive),
    the backtest's table and the chat's marks come out the same."""
    plain = "rules:\n  - id: sea\n    name: Sea\n    query: '\"East Sea\"'\n"
    plain += "  - id: us\n    name: US\n    query: =US\n"
    files = [tmp_path / "plain.yaml", tmp_path / "regex.yaml"]
    files[0].write_text(plain)  # the index decides which articles the engine reads
    files[1].write_text(plain + "  - id: re\n    name: Regex\n    query: /[Pp]atrol/\n")
    titles = [
        ("East Sea patrol", ("sea",)),
        ("East Sea talks with the US", ("sea",)),
        ("Join us", ("us",)),
        ("Weather", ()),
    ]
    when = datetime(2025, 7, 11, tzinfo=UTC)
    stored: list[tuple[Article, tuple[str, ...]]] = []
    store = SqlStorage(database_url)
    await store.open()
    try:
        for i, (title, rule_ids) in enumerate(titles):
            article = Article(feed_url="http://127.0.0.1/f", identity=str(i), title=title)
            hits = [RuleMatch(r, (Hit(r, "title", 0, 1),)) for r in rule_ids]
            await store.ingest(article, hits, when, alert=False)
            stored.append((article, rule_ids))
        marks = [Feedback(5, "sea", "1", "East Sea talks with the US", None, 7, when)]
        outputs = []
        for file in files:  # a regex rule: no word condition, every article is matched
            for archive in (store, FakeArchive(stored)):
                out = io.StringIO()
                assert await cmd_backtest(file, archive, out, feedback=marks) == 0
                outputs.append(out.getvalue())
    finally:
        await store.close()

    def table(text: str) -> list[str]:
        return [line for line in text.splitlines() if line[:3] in ("sea", "us ", "re ")]

    assert table(outputs[0]) == table(outputs[1])
    assert table(outputs[2]) == table(outputs[3])
    assert table(outputs[0])[0].split() == ["sea", "2", "2", "0", "0"]
    assert table(outputs[0])[1].split() == ["us", "1", "1", "1", "1"]
    assert table(outputs[2])[2].split() == ["re", "1", "0", "1", "0"]
    assert all("  sea: East Sea talks with the US — still fires" in o for o in outputs)


async def test_backtest_rejects_an_invalid_file(tmp_path: Path) -> None:
    file = tmp_path / "new.yaml"
    file.write_text("rules:\n  - id: x\n    name: X\n    query: '@nope'\n")
    out = io.StringIO()
    assert await cmd_backtest(file, FakeArchive([]), out) == 2
    assert "unknown alias @nope" in out.getvalue()
