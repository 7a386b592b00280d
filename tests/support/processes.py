"""Real bot processes for the tests that are about processes (crash, SIGTERM, replicas)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bot_env(database_url: str, config_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a test's bot process: this process's, without any newswatch, Telegram
    or database setting (a developer's own must not leak in), with the repository on
    ``PYTHONPATH``, ``database_url``, ``config_dir`` and ``settings`` (variable -> value)."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEWSWATCH_", "TELEGRAM", "DATABASE_URL"))
    }
    return {
        **inherited,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "NEWSWATCH_CONFIG_DIR": str(config_dir),
        **settings,
    }


def start_bot(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """``newswatch run`` in a process of its own with exactly ``env``, its output appended to
    ``log`` (a restarted bot keeps writing to the same log)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "run"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
