"""End to end in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by Selenium; nothing is downloaded): log in through a one-time link, see a story arrive
live, edit a rule with an error then a fix and watch the preview, add a feed. Writes a
screenshot of each page at desktop and phone widths to docs/images/."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.bot.web.conftest import FEED, Console
from tests.bot.web.test_pages import sea_match
from tests.support.storage_helpers import make_article

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver; .ci/run installs them)",
)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="nw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


async def run(fn: Callable[..., Any], *args: Any) -> Any:
    """Selenium blocks: call it in a thread so the console keeps serving meanwhile."""
    return await asyncio.to_thread(fn, *args)


def wait_for(driver: webdriver.Chrome, test: Callable[[webdriver.Chrome], Any]) -> Any:
    return WebDriverWait(driver, 15).until(test)


def shoot(driver: webdriver.Chrome, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for size, (w, h) in SIZES.items():
        driver.set_window_size(w, h)
        driver.save_screenshot(str(IMAGES / f"console-{name}-{size}.png"))
    driver.set_window_size(*SIZES["desktop"])


def stories(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.ID, "stories").text)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_desk_in_a_real_browser(console: Console, browser: webdriver.Chrome) -> None:
    now = console.clock.now()
    for n in range(6):
        article = make_article(
            n, feed_url=FEED, title=f"Vietnam protests in the East Sea, story {n}"
        )
        await console.store.ingest(article, [sea_match()], now - timedelta(days=n, hours=1))
    base = str(console.client.make_url("/")).rstrip("/")

    # log in through the one-time link
    token = console.deps.links.issue(42, admin=True)
    await run(browser.get, f"{base}/login/{token}")
    await run(lambda: browser.find_element(By.ID, "login-button").click())
    await run(wait_for, browser, lambda d: "story 0" in stories(d))
    await run(wait_for, browser, lambda d: d.find_element(By.ID, "live-status").is_displayed())

    # a story arrives live
    article = make_article(99, feed_url=FEED, title="Vietnam protests in the East Sea, story 99")
    await console.store.ingest(article, [sea_match()], now)
    await run(wait_for, browser, lambda d: "story 99" in stories(d))
    top = await run(lambda: browser.find_element(By.CSS_SELECTOR, "#stories .story").text)
    assert "story 99" in top
    await run(shoot, browser, "stories")
    # the trends of the rule those stories matched (before the rule files are replaced below)
    await run(browser.get, f"{base}/trends?rule=sea&days=30")
    await run(shoot, browser, "trends")

    # edit a rule: an error, then a fix, and the preview
    await run(browser.get, f"{base}/rules/edit?file=main.yaml")
    area = await run(browser.find_element, By.ID, "rule-text")
    await run(area.clear)
    await run(area.send_keys, "rules:\n- id: drill\n  name: Drill\n  query: '\"East Sea AND'\n")
    errors = await run(browser.find_element, By.ID, "rule-errors")
    await run(
        wait_for, browser, lambda d: errors.is_displayed() and "unclosed quote" in errors.text
    )
    assert "main.yaml:4:" in errors.text
    await run(shoot, browser, "rule-error")
    await run(area.clear)
    await run(area.send_keys, "rules:\n- id: drill\n  name: Drill\n  query: '\"East Sea\"'\n")
    preview = await run(browser.find_element, By.ID, "rule-preview")
    await run(wait_for, browser, lambda d: "would have fired on" in preview.text)
    assert "7 stories in the last 30 days" in preview.text
    await run(shoot, browser, "rule-preview")
    await run(lambda: browser.find_element(By.ID, "rule-save").click())
    message = await run(wait_for, browser, lambda d: d.find_element(By.ID, "save-message"))
    assert "1 rule in force" in message.text
    assert console.deps.services.rules.current.get("drill") is not None

    # add a feed
    await run(browser.get, f"{base}/feeds")
    await run(lambda: browser.find_element(By.ID, "feed-url").send_keys("https://n.example/a.xml"))
    await run(lambda: browser.find_element(By.ID, "feed-add").click())
    message = await run(wait_for, browser, lambda d: d.find_element(By.ID, "feed-message"))
    assert "added" in message.text
    assert console.feeds.added == ["https://n.example/a.xml"]
    await run(shoot, browser, "feeds")

    for name, path in (
        ("search", '/search?q="East Sea" AND NOT football'),
        ("rules", "/rules"),
    ):
        await run(browser.get, base + path)
        await run(shoot, browser, name)
