"""Real bot processes for the tests that are about processes (crash, SIGTERM, replicas)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
