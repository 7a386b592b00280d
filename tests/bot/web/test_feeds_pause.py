"""The feeds page pauses and resumes a feed through the feed actions (admins only)."""

from __future__ import annotations

from tests.bot.web.conftest import FEED, Console


async def test_admin_pauses_and_resumes(console: Console) -> None:
    csrf = await console.login(admin=True)
    page = await (await console.client.get("/feeds")).text()
    assert 'action="/feeds/pause"' in page
    paused = await console.client.post("/feeds/pause", data={"url": FEED, "_csrf": csrf})
    assert paused.status == 200
    assert f"Paused {FEED}." in await paused.text()
    resumed = await console.client.post("/feeds/resume", data={"url": FEED, "_csrf": csrf})
    assert f"Resumed {FEED}." in await resumed.text()
    assert console.feeds.paused == {FEED: True}


async def test_readers_may_not_pause(console: Console) -> None:
    csrf = await console.login(admin=False)
    refused = await console.client.post("/feeds/pause", data={"url": FEED, "_csrf": csrf})
    assert refused.status == 403
    assert console.feeds.paused == {}
