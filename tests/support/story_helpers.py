"""Seed articles as ``Article`` values from two outlets, for story tests."""

from __future__ import annotations

from pathlib import Path

from bot.cli.demo import load_seed_articles
from core.models import Article

SEEDS = Path(__file__).resolve().parents[1] / "data" / "seeds"


def seed_article(number: str, outlet: str | None = None) -> Article:
    """Seed ``number`` ("000".."004") as an article of ``outlet`` (default: the labelled one)."""
    seed = next(a for a in load_seed_articles(SEEDS) if a.slug.startswith(number))
    name = outlet or seed.outlet
    return Article(
        feed_url=f"http://127.0.0.1/{name}.xml",
        identity=f"guid:{seed.slug}",
        title=seed.title,
        link=f"https://{name.lower()}.example/{seed.slug}",
        link_key=f"{name.lower()}.example/{seed.slug}",
        summary=seed.body,
        published_at=seed.published,
        guid=seed.slug,
        feed_name=name,
    )
