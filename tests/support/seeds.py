"""Feed documents built from the real seed articles in /work/shared/seeds (title, lead, body)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

# tests/data/seeds is a copy of the shared seeds, so the suite runs on a clean checkout.
SEEDS_DIR = Path(__file__).resolve().parent.parent / "data" / "seeds"


@dataclass(frozen=True)
class Seed:
    slug: str
    title: str
    lead: str
    body: str


def load_seeds() -> list[Seed]:
    seeds = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        seeds.append(Seed(path.stem, lines[0].strip(), lines[1].strip(), "\n".join(lines[2:])))
    return seeds


def rss2(
    seeds: list[Seed],
    base: str = "https://news.example.com",
    *,
    guids: bool = True,
    guid_prefix: str = "",
    ttl: int | None = None,
    title: str = "Seed News",
    with_content: bool = True,
    start: datetime = datetime(2025, 7, 11, 8, 0, tzinfo=UTC),
) -> str:
    items = []
    for i, s in enumerate(seeds):
        link = f"{base}/{s.slug}.html?utm_source=rss&utm_medium=feed&section=news"
        guid = f'<guid isPermaLink="false">{guid_prefix}{s.slug}</guid>' if guids else ""
        paras = "".join(f"<p>{escape(p)}</p>" for p in s.body.splitlines())
        content = f"<content:encoded><![CDATA[{paras}]]></content:encoded>" if with_content else ""
        items.append(
            f"<item><title>{escape(s.title)}</title><link>{escape(link)}</link>{guid}"
            f"<description>{escape('<b>' + escape(s.lead) + '</b>')}</description>{content}"
            f"<pubDate>{format_datetime(start + timedelta(hours=i))}</pubDate>"
            f"<author>desk@example.com (News Desk)</author></item>"
        )
    ttl_el = f"<ttl>{ttl}</ttl>" if ttl is not None else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>{base}/</link>"
        f"<description>seed feed</description>{ttl_el}{''.join(items)}</channel></rss>"
    )
