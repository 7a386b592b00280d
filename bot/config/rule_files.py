"""Reading the rules folder: every ``*.yaml`` / ``*.yml`` file in it, in name order.

The only place rule files are read from disk; compiling is ``rules.compile_ruleset``'s job.
Does not watch the folder (that is ``bot.runtime.rules_reloader``). The one file it writes is
``promoted.yaml``, where an admin's promoted personal rules go (``append_promoted_rule``).
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError, RuleError
from rules import RuleSet, compile_ruleset

RULE_FILE_SUFFIXES = (".yaml", ".yml")


def rule_files(path: Path) -> list[Path]:
    """The rule files in ``path``, sorted by name. Hidden files and sub-folders are ignored."""
    if not path.is_dir():
        raise RuleError(f"{path}: rules folder not found (create it, or set the config folder)")
    return sorted(
        p
        for p in path.iterdir()
        if p.suffix.lower() in RULE_FILE_SUFFIXES
        and not p.name.startswith(".")
        and not p.is_dir()  # a broken link is listed, so it is reported rather than skipped
    )


def read_rule_sources(path: Path) -> dict[str, str]:
    """{file path as text: file content} for every rule file; unreadable file -> RuleError."""
    sources: dict[str, str] = {}
    problems: list[str] = []
    for file in rule_files(path):
        try:
            sources[str(file)] = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            problems.append(f"{file}: not UTF-8 text (byte {e.start}): save the file as UTF-8")
        except OSError as e:
            problems.append(f"{file}: cannot read: {e.strerror or e}")
    if problems:
        raise RuleError("\n".join(problems))
    return sources


def load_rules_dir(path: Path) -> RuleSet:
    """Read and compile every rule file in ``path``; any problem -> RuleError with its location."""
    return compile_ruleset(read_rule_sources(path))


PROMOTED_FILE = "promoted.yaml"
_PROMOTED_HEADER = (
    "# Personal rules promoted by an admin with /promote (newswatch appends here; edit freely,\n"
    "# but keep 'rules:' the last key so that appending stays valid).\nrules:\n"
)


def append_promoted_rule(path: Path, entry: str) -> Path:
    """Append ``entry`` (a YAML list item under ``rules:``) to ``path``/promoted.yaml, creating
    it. The new text is compiled on its own first: a result that is not a valid rule file is
    refused (``ConfigError``) and nothing is written; so is a folder that cannot be written."""
    file = path / PROMOTED_FILE
    try:
        old = file.read_text(encoding="utf-8") if file.exists() else _PROMOTED_HEADER
    except OSError as e:
        raise ConfigError(f"{file}: cannot read: {e.strerror or e}") from None
    new = old + ("" if old.endswith("\n") else "\n") + entry
    try:
        compile_ruleset({str(file): new})
    except RuleError as e:
        raise ConfigError(f"{file}: the promoted rule would not be valid:\n{e}") from None
    try:
        tmp = file.with_name(f".{file.name}.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(file)
    except OSError as e:
        raise ConfigError(f"{file}: cannot write: {e.strerror or e}") from None
    return file
