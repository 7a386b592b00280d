"""``newswatch demo`` runs the real path offline and reports which seed articles raised alerts."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.cli.demo import run_demo
from bot.config.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


async def test_demo_alerts_once_per_story_and_stays_silent_on_the_control() -> None:
    # Issue #13 replaced "five seeds, five alerts": seeds 000 (VNA) and 001 (VietNamNet) report
    # one meeting, so 001 edits 000's alert to list both sources; 002, 003, 004 alert apart.
    out = io.StringIO()
    settings = Settings(config_dir=ROOT / "config")
    assert await run_demo(settings, seeds_dir=ROOT / "tests" / "data" / "seeds", out=out) == 0
    text = out.getvalue()
    summary = text.split("Summary\n", 1)[1]
    verdicts = re.findall(r"^  (ALERT |silent|joined)  (.+)$", summary, flags=re.MULTILINE)
    assert [v for v, _ in verdicts] == ["ALERT ", "joined", "ALERT ", "ALERT ", "ALERT ", "silent"]
    assert verdicts[1][1].startswith("Both sides expressed their delight")
    assert verdicts[-1][1].startswith("Ecuador celebrates its National Day")
    assert "          2 sources: VNA, VietNamNet\n" in summary
    assert text.count("\nALERT\n") == 4  # each story's alert printed once, in full
    # ... and 000's alert once more, edited when VietNamNet's report joined it
    (edited,) = re.findall(r"\nSOURCES ADDED\n(.+?)\n─", text, flags=re.DOTALL)
    assert edited.startswith("Vietnamese Deputy PM, FM meets with US, EC, UK officials")
    assert edited.endswith("📰 2 sources: VNA, VietNamNet")
    assert "Comprehensive Strategic Partnership" in text
    assert "6 articles read, 4 alerts printed above (1 of them with more than one source)." in text


async def test_demo_without_seeds_says_so(tmp_path: Path) -> None:
    out = io.StringIO()
    settings = Settings(config_dir=ROOT / "config")
    assert await run_demo(settings, seeds_dir=tmp_path, out=out) == 1
    assert "no seed articles" in out.getvalue()
