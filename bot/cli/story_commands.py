"""``newswatch stories ...``: the story grouping from the command line.

``group FILE.jsonl`` runs exactly the grouping the bot runs (``stories.StoryIndex``), offline:
no database, no network, no settings beyond the command line. Prints one ``{"id", "story"}``
line per article (docs/stories.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from core.errors import ConfigError
from stories.jsonl import group, read_articles, write_groups


def cmd_group(file: Path, out: TextIO, *, why: bool = False) -> int:
    """Group ``file``'s articles and print the stories; 0 on success."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"{file}: {e.strerror or e}") from e
    try:
        articles = read_articles(lines)
    except ConfigError as e:
        raise ConfigError(f"{file}: {e}") from e
    write_groups(group(articles), out, why=why)
    return 0
