"""Nothing but health is served without a session; links work once; forms need their CSRF
token and our own origin; readers read, admins edit."""

from __future__ import annotations

import pytest

from tests.bot.web.conftest import Console

PAGES = [
    "/",
    "/search?q=sea",
    "/rules",
    "/rules/edit?file=main.yaml",
    "/rules/new",
    "/feeds",
    "/trends",
    "/trends/chart.png?rule=sea",
    "/search/export?q=sea&format=csv",
]
FORMS = ["/rules/save", "/rules/check", "/feeds/add", "/feeds/remove", "/logout"]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_without_a_session_goes_to_the_login(console: Console, path: str) -> None:
    response = await console.client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login"


async def test_the_event_stream_without_a_session_is_refused(console: Console) -> None:
    response = await console.client.get("/events/stories", headers={"Accept": "text/event-stream"})
    assert response.status == 401


@pytest.mark.parametrize("path", FORMS)
async def test_every_form_without_a_session_is_refused(console: Console, path: str) -> None:
    response = await console.client.post(path, data={"url": "http://x/feed.xml", "text": "x"})
    assert response.status == 401
    assert console.feeds.added == []


async def test_health_needs_no_login(console: Console) -> None:
    # The console shares the health server's app; here only the console is mounted, so the
    # access rule is what is checked: health paths pass the middleware untouched.
    response = await console.client.get("/healthz")
    assert response.status == 404  # not mounted in this app, but not redirected to /login


async def test_a_forged_link_is_refused(console: Console) -> None:
    page = await console.client.get("/login/not-a-real-token")
    assert page.status == 403
    assert "not valid" in await page.text()
    post = await console.client.post("/login/not-a-real-token", allow_redirects=False)
    assert post.status == 403
    assert "nw_session" not in post.cookies


async def test_a_link_works_once(console: Console) -> None:
    token = console.deps.links.issue(7, admin=False)
    first = await console.client.post(f"/login/{token}", allow_redirects=False)
    assert first.status == 303
    cookie = first.cookies["nw_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    console.client.session.cookie_jar.clear()
    replay = await console.client.post(f"/login/{token}", allow_redirects=False)
    assert replay.status == 403
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_visiting_the_link_does_not_use_it_up(console: Console) -> None:
    token = console.deps.links.issue(7, admin=False)
    assert (await console.client.get(f"/login/{token}")).status == 200  # a link preview
    assert (await console.client.post(f"/login/{token}", allow_redirects=False)).status == 303


async def test_a_forged_session_cookie_is_ignored(console: Console) -> None:
    await console.login()
    jar = console.client.session.cookie_jar
    value = next(c.value for c in jar if c.key == "nw_session")
    payload, _, _mac = value.rpartition(".")
    jar.clear()
    jar.update_cookies({"nw_session": payload + ".AAAA"})
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_the_env_token_logs_in_as_admin(console: Console) -> None:
    bad = await console.client.post("/login", data={"token": "guess"}, allow_redirects=False)
    assert bad.status == 403
    good = await console.client.post("/login", data={"token": "env-secret"}, allow_redirects=False)
    assert good.status == 303
    assert "admin" in await (await console.client.get("/")).text()


async def test_a_form_without_its_csrf_token_is_refused(console: Console) -> None:
    await console.login()
    response = await console.client.post("/feeds/add", data={"url": "http://a/feed.xml"})
    assert response.status == 403
    forged = await console.client.post(
        "/feeds/add", data={"url": "http://a/feed.xml", "_csrf": "forged"}
    )
    assert forged.status == 403
    assert console.feeds.added == []


async def test_a_cross_site_form_post_is_refused_even_with_the_token(console: Console) -> None:
    csrf = await console.login()
    response = await console.client.post(
        "/feeds/add",
        data={"url": "http://a/feed.xml", "_csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403
    assert "another site" in await response.text()
    assert console.feeds.added == []


async def test_readers_read_but_do_not_edit(console: Console) -> None:
    csrf = await console.login(admin=False)
    assert (await console.client.get("/feeds")).status == 200
    response = await console.client.post(
        "/feeds/add", data={"url": "http://a/feed.xml", "_csrf": csrf}
    )
    assert response.status == 403
    assert "admins" in await response.text()
    saved = await console.client.post(
        "/rules/save", data={"file": "main.yaml", "text": "rules: []\n", "_csrf": csrf}
    )
    assert saved.status == 403
    assert "my-rule" not in (console.rules_dir / "main.yaml").read_text()


async def test_logout_ends_the_session(console: Console) -> None:
    csrf = await console.login()
    out = await console.client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_an_unknown_page_says_so_without_a_stack_trace(console: Console) -> None:
    await console.login()
    response = await console.client.get("/no/such/page")
    assert response.status == 404
    body = await response.text()
    assert "There is no page at /no/such/page" in body
    assert "Traceback" not in body
