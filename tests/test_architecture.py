"""The layering that docs/architecture.md promises, read from the imports themselves.

Each package may import only the packages listed for it (and the standard library and
third-party libraries, except where a package must stay free of them: the rule engine does no
I/O). A new import across the lines fails here, with the module and line that made it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"bot", "core", "rules", "stories", "storage", "watchers"}

# unit -> the units it may import (a unit is a top-level package, or bot.<subpackage>)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "rules": {"core"},
    "stories": {"core"},
    "watchers": {"core"},
    # storage indexes each article's words as the rule engine folds them (storage.words), so
    # a search's word prefilter and the engine agree on what a word is
    "storage": {"core", "rules"},
    "bot.config": {"core", "rules"},
    "bot.services": {"core", "rules", "storage", "bot.config", "bot.ops"},
    "bot.ops": {"core", "rules", "storage", "bot.config"},
    "bot.search": {"core", "rules", "storage"},
    "bot.i18n": {"core"},  # message catalogues (English, Vietnamese)
    # rules saved from the chat (/watch): compiled with the files' compiler, shared by the
    # handlers, the runtime and the command line
    "bot.personal_rules": {"core", "rules", "storage", "bot.config", "bot.services", "bot.search"},
    "bot.delivery": {"core", "storage", "bot.config", "bot.services", "bot.ops", "bot.i18n"},
    "bot.trends": {"core", "storage", "bot.i18n"},  # a trend alert's words (#16)
    "bot.telegram": {
        "core",
        "storage",
        "bot.config",
        "bot.services",
        "bot.delivery",
        "bot.ops",
        "bot.search",
        "bot.personal_rules",
        "bot.i18n",
        "bot.trends",
    },
    "bot.web": {
        "core",
        "rules",
        "storage",
        "bot.config",
        "bot.services",
        "bot.ops",
        "bot.search",
        "bot.trends",
    },
    "bot.runtime": {
        "core",
        "rules",
        "stories",
        "watchers",
        "storage",
        "bot.config",
        "bot.services",
        "bot.ops",
        "bot.search",
        "bot.personal_rules",
        "bot.i18n",
        "bot.delivery",
        "bot.telegram",
        "bot.trends",
        "bot.web",
    },
}
ALLOWED["bot.cli"] = ALLOWED["bot.runtime"] | {"bot.runtime"}  # the command line may use all
# Libraries that do I/O or hold global state: never in the pure core.
IO_LIBRARIES = {"aiohttp", "telegram", "sqlalchemy", "asyncpg", "aiosqlite", "feedparser"}
PURE = {"core", "rules", "stories"}


def unit_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 1 else parts[0]


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_every_unit_imports_only_what_the_architecture_allows() -> None:
    offenders = []
    for package in sorted(OURS):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT)
            module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            unit = unit_of(module)
            assert unit in ALLOWED or unit == "bot", f"{rel}: unknown unit {unit}"
            allowed = ALLOWED.get(unit, set())
            for line, name in imports(path):
                top = name.split(".")[0]
                target = unit_of(name)
                if top in OURS and target != unit and target not in allowed:
                    offenders.append(f"{rel}:{line}: {unit} imports {name}")
                if unit in PURE and top in IO_LIBRARIES:
                    offenders.append(f"{rel}:{line}: {unit} must stay pure, imports {name}")
    assert offenders == []


def test_no_module_in_bot_or_storage_is_over_500_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for package in ("bot", "storage")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    ]
    assert long == []
