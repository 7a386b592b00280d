"""The console's pages through aiohttp's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.web.trends_page import CHART_CACHE_KEY
from core.models import Hit, RuleMatch
from tests.bot.web.conftest import FEED, Console
from tests.support.storage_helpers import T0, make_article


def sea_match() -> RuleMatch:
    # "East Sea" in the title "Vietnam protests in the East Sea, story n"
    return RuleMatch("sea", (Hit("East Sea", "title", 24, 32),))


async def store_story(console: Console, n: int, days_ago: float = 0) -> None:
    article = make_article(n, feed_url=FEED, title=f"Vietnam protests in the East Sea, story {n}")
    await console.store.ingest(article, [sea_match()], T0 - timedelta(days=days_ago))


async def test_stories_newest_first_with_highlights_and_rules(console: Console) -> None:
    for n in range(3):
        await store_story(console, n, days_ago=3 - n)
    await console.login(admin=False)
    body = await (await console.client.get("/")).text()
    assert body.index("story 2") < body.index("story 1") < body.index("story 0")
    assert "<mark>East Sea</mark>" in body
    assert 'href="/?rule=sea"' in body


async def test_stories_filter_by_rule_feed_tag_and_date(console: Console) -> None:
    await store_story(console, 1, days_ago=10)
    await store_story(console, 2, days_ago=0)
    await console.login(admin=False)
    day = (T0 - timedelta(days=1)).date().isoformat()
    recent = await (await console.client.get(f"/?since={day}")).text()
    assert "story 2" in recent
    assert "story 1" not in recent
    assert "story 1" in await (await console.client.get("/?tag=asia")).text()
    assert "No matched stories" in await (await console.client.get("/?tag=europe")).text()
    assert "No matched stories" in await (await console.client.get("/?rule=csp")).text()
    bad = await console.client.get("/?since=yesterday")
    assert bad.status == 400
    assert "expected a date" in await bad.text()


async def test_stories_and_search_filter_by_language(console: Console) -> None:
    await store_story(console, 1)
    vi = make_article(
        2,
        feed_url=FEED,
        title="Việt Nam phản đối hoạt động ở Biển Đông, East Sea, bài 2",
        summary="Bộ Ngoại giao Việt Nam lên tiếng về các hoạt động trên Biển Đông.",
    )
    await console.store.ingest(vi, [sea_match()], T0)
    await console.login(admin=False)
    everything = await (await console.client.get("/")).text()
    assert "story 1" in everything
    assert "bài 2" in everything
    english = await (await console.client.get("/?lang=en")).text()
    assert "story 1" in english
    assert "bài 2" not in english
    vietnamese = await (await console.client.get("/?lang=vi")).text()
    assert "bài 2" in vietnamese
    assert "story 1" not in vietnamese
    assert '<option value="vi" selected>Vietnamese</option>' in vietnamese
    assert "lang=vi" in vietnamese  # the live stream keeps the filter
    found = await (await console.client.get('/search?q="East Sea"&lang=vi')).text()
    assert "bài 2" in found
    assert "story 1" not in found
    assert (await console.client.get("/?lang=fr")).status == 400
    assert (await console.client.get("/search?q=sea&lang=fr")).status == 400


async def test_a_new_story_arrives_on_the_event_stream(console: Console) -> None:
    await store_story(console, 1)
    await console.login(admin=False)
    latest = await console.store.latest_match_key()
    response = await console.client.get(f"/events/stories?after={latest}")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    await store_story(console, 2)
    data = ""
    async with asyncio.timeout(10):
        while not data:
            line = (await response.content.readline()).decode()
            if line.startswith("data: "):
                data = line[6:]
    story = json.loads(data)
    assert "story 2" in story["html"]
    assert "<mark>East Sea</mark>" in story["html"]
    response.close()


async def test_search_in_the_rule_language_with_paging_and_export(console: Console) -> None:
    for n in range(30):
        title = f"East Sea patrol {n}" if n % 2 else f"East Sea football final {n}"
        await console.store.ingest(make_article(n, feed_url=FEED, title=title), [], T0)
    await console.login(admin=False)
    body = await (await console.client.get('/search?q="East Sea" AND NOT football')).text()
    assert "<mark>East Sea</mark> patrol 29" in body
    assert "football final" not in body
    assert "@sea" not in body
    alias = await (await console.client.get("/search?q=@sea")).text()
    assert "football final 28" in alias
    export = await console.client.get('/search/export?q="East Sea" AND NOT football&format=csv')
    rows = (await export.text()).strip().splitlines()
    assert len(rows) == 1 + 15
    jsonl = await console.client.get("/search/export?q=patrol&format=jsonl")
    assert json.loads((await jsonl.text()).splitlines()[0])["title"] == "East Sea patrol 29"
    bad = await console.client.get('/search?q="East Sea')
    assert bad.status == 400
    assert "unclosed quote" in await bad.text()


async def test_rules_list_counts(console: Console) -> None:
    await store_story(console, 1, days_ago=1)
    await console.login(admin=False)
    body = await (await console.client.get("/rules")).text()
    assert "<b>sea</b>" in body
    assert 'class="spark"' in body


async def test_rule_check_gives_the_error_with_line_and_column(console: Console) -> None:
    csrf = await console.login()
    text = "rules:\n  - id: x\n    name: X\n    query: '\"East Sea AND'\n"
    answer = await (
        await console.client.post(
            "/rules/check",
            json={"file": "main.yaml", "text": text},
            headers={"X-CSRF-Token": csrf},
        )
    ).json()
    assert answer["ok"] is False
    assert (answer["line"], answer["col"]) == (4, 13)
    assert "main.yaml:4:13: unclosed quote" in answer["error"]


async def test_rule_preview_counts_the_last_30_days(console: Console) -> None:
    for n in range(3):
        article = make_article(n, feed_url=FEED, title=f"South China Sea drill {n}")
        await console.store.ingest(article, [], console.clock.now() - timedelta(days=n))
    csrf = await console.login()
    text = "rules:\n  - id: drill\n    name: Drill\n    query: 'drill AND @sea'\n"
    answer = await (
        await console.client.post(
            "/rules/check", json={"file": "new.yaml", "text": text}, headers={"X-CSRF-Token": csrf}
        )
    ).json()
    assert answer["ok"] is True
    assert answer["rules"] == ["drill"]
    assert "would have fired on <b>3</b> stories in the last 30 days" in answer["preview"]


async def test_saving_a_rule_writes_the_file_and_reloads(console: Console) -> None:
    csrf = await console.login()
    text = (console.rules_dir / "main.yaml").read_text() + (
        "  - id: drill\n    name: Drill\n    query: drill\n"
    )
    saved = await console.client.post(
        "/rules/save", data={"file": "main.yaml", "text": text, "_csrf": csrf}
    )
    assert saved.status == 200
    assert "3 rules in force" in await saved.text()
    assert console.deps.services.rules.current.get("drill") is not None


async def test_an_invalid_rule_is_not_saved_and_the_old_rules_stay(console: Console) -> None:
    csrf = await console.login()
    before = (console.rules_dir / "main.yaml").read_text()
    saved = await console.client.post(
        "/rules/save", data={"file": "main.yaml", "text": "rules: [", "_csrf": csrf}
    )
    assert saved.status == 400
    assert "Not saved" in await saved.text()
    assert (console.rules_dir / "main.yaml").read_text() == before
    assert len(console.deps.services.rules.current.rules) == 2


async def test_a_rule_file_name_cannot_leave_the_folder(console: Console) -> None:
    csrf = await console.login()
    saved = await console.client.post(
        "/rules/save", data={"file": "../feeds.yaml", "text": "rules: []", "_csrf": csrf}
    )
    assert saved.status == 400
    assert "not a rule file name" in await saved.text()


async def test_feeds_page_health_and_add(console: Console) -> None:
    csrf = await console.login()
    body = await (await console.client.get("/feeds")).text()
    assert "Example News" in body
    added = await console.client.post(
        "/feeds/add", data={"url": "https://news.example/rss.xml", "_csrf": csrf}
    )
    assert "added" in await added.text()
    assert console.feeds.added == ["https://news.example/rss.xml"]
    refused = await console.client.post(
        "/feeds/add", data={"url": "https://news.example/page", "_csrf": csrf}
    )
    assert refused.status == 400
    assert "not a feed" in await refused.text()
    junk = await console.client.post("/feeds/add", data={"url": "javascript:x", "_csrf": csrf})
    assert junk.status == 400


async def test_trends_page_and_chart(console: Console) -> None:
    for n in range(40):
        await store_story(console, n, days_ago=(n % 20) + 1)
    for n in range(40, 52):
        await store_story(console, n, days_ago=0)
    await console.login(admin=False)
    body = await (await console.client.get("/trends?rule=sea&days=30")).text()
    assert 'src="/trends/chart.png?rule=sea&days=30&by=day"' in body
    assert "12 stories" in body  # today's burst stands out
    chart = await console.client.get("/trends/chart.png?rule=sea&days=30")
    assert chart.content_type == "image/png"
    png = await chart.read()
    assert png.startswith(b"\x89PNG")
    # drawn once per distinct data: the same data again comes from the cache (or a 304) ...
    cache = console.client.app[CHART_CACHE_KEY]
    again = await console.client.get("/trends/chart.png?rule=sea&days=30")
    assert await again.read() == png
    assert (cache.hits, cache.misses) == (1, 1)
    etag = again.headers["ETag"]
    unchanged = await console.client.get(
        "/trends/chart.png?rule=sea&days=30", headers={"If-None-Match": etag}
    )
    assert unchanged.status == 304
    # ... and a new story is new data: a new key, a new drawing
    await store_story(console, 99, days_ago=0)
    changed = await console.client.get(
        "/trends/chart.png?rule=sea&days=30", headers={"If-None-Match": etag}
    )
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert cache.misses == 2
    assert len(cache.keys()) == 2
    missing = await console.client.get("/trends?rule=nope")
    assert missing.status == 404
