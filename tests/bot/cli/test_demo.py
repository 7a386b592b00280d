"""``newswatch demo`` runs the real path offline and reports which seed articles raised alerts."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.cli.demo import run_demo
from bot.config.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


async def test_demo_alerts_on_the_seed_articles_and_stays_silent_on_the_control() -> None:
    out = io.StringIO()
    settings = Settings(config_dir=ROOT / "config")
    assert await run_demo(settings, seeds_dir=ROOT / "tests" / "data" / "seeds", out=out) == 0
    text = out.getvalue()
    summary = text.split("Summary\n", 1)[1]
    verdicts = re.findall(r"^  (ALERT |silent)  (.+)$", summary, flags=re.MULTILINE)
    assert [v for v, _ in verdicts] == ["ALERT "] * 5 + ["silent"]
    assert verdicts[-1][1].startswith("Ecuador celebrates its National Day")
    assert text.count("\nALERT\n") == 5  # each alert printed once, in full
    assert "Comprehensive Strategic Partnership" in text
    assert "6 articles read, 5 alerts printed above." in text


async def test_demo_without_seeds_says_so(tmp_path: Path) -> None:
    out = io.StringIO()
    settings = Settings(config_dir=ROOT / "config")
    assert await run_demo(settings, seeds_dir=tmp_path, out=out) == 1
    assert "no seed articles" in out.getvalue()
