"""Deployment test: the real Dockerfile and docker-compose.yml, run for real.

Copies the project to a temporary folder (as a user's checkout), writes ``.env`` from
``.env.example`` and a ``config/`` folder with one rule, builds the image, and brings up
``docker-compose.yml`` plus tests/deploy/compose.override.yml (a local feed server and a fake
Telegram Bot API on the compose network). Then checks, in order: ``/readyz`` turns 200, a
subscribed chat gets the alert the mounted rule raises, editing the rule file on the host changes
what is alerted, ``docker-compose restart`` loses nothing and repeats nothing, ``down`` then
``up`` keeps the data, the container reports itself healthy, and scaled to two bot replicas
against the one PostgreSQL (``--scale bot=2``) both are ready and a new story is alerted exactly
once. Always ends with ``down -v``.

Needs podman's Docker API, docker-compose v1 and the base-image stand-ins, which
``../shared/tools/containers/setup.sh`` provides (``.ci/run`` runs it); skips with the reason
otherwise. Traffic goes only to 127.0.0.1 (published ports) and between the containers.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import escape

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///run/podman/podman.sock")
BASE_IMAGES = ("python:3.11-slim-bookworm", "postgres:16-bookworm")
TOKEN = "123456789:AAtest-token-for-the-fake-bot-api-server"  # the fake's default token
CHAT = 1001
RULE_ID = "deploytest"
T = TypeVar("T")
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "data", ".env", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".hypothesis", "*.egg-info", "build", "dist", "*.so",
)  # fmt: skip


# tooling ----------------------------------------------------------------------------------------


def _docker_api(path: str, method: str = "GET") -> int:
    """``method path`` on the Docker-compatible API socket; the HTTP status, 0 when unreachable."""
    if not DOCKER_HOST.startswith("unix://"):
        return 0
    sock_path = DOCKER_HOST.removeprefix("unix://")

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(5)
            self.sock.connect(sock_path)

    try:
        conn = UnixConnection("localhost")
        conn.request(method, path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return 0


def _missing_tooling() -> str | None:
    setup = "run ../shared/tools/containers/setup.sh (as .ci/run does)"
    if shutil.which("docker-compose") is None:
        return f"docker-compose is not installed: {setup}"
    if _docker_api("/_ping") != 200:
        return f"no Docker-compatible API at {DOCKER_HOST}: {setup}"
    for image in BASE_IMAGES:
        if _docker_api(f"/images/{image}/json") != 200:
            return f"base image {image} is missing (no registry here): {setup}"
    if not (ROOT / "tests" / "fakes" / "telegram_api.py").is_file():
        return "the fake Telegram Bot API (tests/fakes/telegram_api.py) is not in this checkout"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    probe: Callable[[], T | None], timeout_s: float, what: str, every_s: float = 0.5
) -> T:
    """Call ``probe`` until it returns something other than None/False; bounded by ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except (OSError, urllib.error.URLError, ValueError) as e:
            last_error, result = e, None
        if result is not None and result is not False:
            return result
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what} ({last_error})")


# the feed ---------------------------------------------------------------------------------------


@dataclass
class Item:
    guid: str
    title: str
    body: str


class Feed:
    """The RSS file the feed container serves; written atomically so no poll sees half a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.items: list[Item] = []
        self._start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        self.write()

    def add(self, *items: Item) -> None:
        self.items.extend(items)
        self.write()

    def write(self) -> None:
        entries = []
        for i, item in enumerate(self.items):
            published = format_datetime(self._start + timedelta(minutes=i))
            entries.append(
                f"<item><guid isPermaLink='false'>{escape(item.guid)}</guid>"
                f"<title>{escape(item.title)}</title>"
                f"<link>https://news.example/{escape(item.guid)}</link>"
                f"<pubDate>{published}</pubDate>"
                f"<description>{escape(item.body)}</description></item>"
            )
        xml = (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            "<title>Deployment test feed</title><link>https://news.example/</link>"
            "<description>test</description>" + "".join(entries) + "</channel></rss>"
        )
        tmp = self.folder / ".feed.xml.tmp"
        tmp.write_text(xml, encoding="utf-8")
        tmp.chmod(0o644)
        tmp.replace(self.folder / "feed.xml")


def _rule_yaml(query: str) -> str:
    return f"rules:\n  - id: {RULE_ID}\n    name: Deployment test\n    query: '{query}'\n"


# the deployment ---------------------------------------------------------------------------------


class Deployment:
    """One compose project in a copy of the repository, driven through docker-compose."""

    def __init__(self, workdir: Path, feed_dir: Path) -> None:
        self.workdir = workdir
        self.project = f"nwtest{uuid.uuid4().hex[:8]}"
        self.image = f"newswatch:{self.project}"  # own tag: parallel runs build different code
        self.health_port = _free_port()
        self.telegram_port = _free_port()
        self.env = {
            **os.environ,
            "DOCKER_HOST": DOCKER_HOST,
            "NEWSWATCH_IMAGE": self.image,
            "NEWSWATCH_HEALTH_PORT": str(self.health_port),
            "NW_TEST_FEED_DIR": str(feed_dir),
            "NW_TEST_TELEGRAM_PORT": str(self.telegram_port),
            "NW_TEST_TOKEN": TOKEN,
        }
        self.env.pop("COMPOSE_FILE", None)
        self.env.pop("COMPOSE_PROJECT_NAME", None)

    def _command(self, *args: str) -> list[str]:
        files = ["-f", "docker-compose.yml", "-f", "tests/deploy/compose.override.yml"]
        return ["docker-compose", *files, "-p", self.project, *args]

    def _run(self, args: tuple[str, ...], timeout_s: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(*args),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def compose(
        self, *args: str, timeout_s: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``docker-compose <args>`` for this project; raise with the logs when it fails."""
        result = self._run(args, timeout_s)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                f"\n--- logs ---\n{self.logs()}"
            )
        return result

    def logs(self) -> str:
        return self._run(("logs", "--no-color", "--tail=150"), 60).stdout[-20000:]

    # the endpoints ------------------------------------------------------------------------------
    def readyz(self, port: int | None = None) -> tuple[int, dict[str, Any]]:
        url = f"http://127.0.0.1:{port or self.health_port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return int(r.status), json.loads(r.read())
        except urllib.error.HTTPError as e:
            return int(e.code), json.loads(e.read() or b"{}")

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return str(r.read().decode("utf-8"))

    def wait_ready(self, timeout_s: float = 180) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            status, body = self.readyz()
            return body if status == 200 else None

        try:
            return wait_until(ready, timeout_s, "/readyz to answer 200")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- logs ---\n{self.logs()}") from None

    def _telegram(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        url = f"http://127.0.0.1:{self.telegram_port}{path}"
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            url, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            return json.loads(r.read())

    def user_sends(self, text: str) -> None:
        self._telegram("/_test/user_sends", {"text": text, "chat_id": CHAT})

    def messages(self) -> list[str]:
        """Texts the bot sent to the test chat, oldest first."""
        return [m["text"] for m in self._telegram("/_test/messages") if m["chat_id"] == CHAT]

    def wait_telegram(self) -> None:
        wait_until(lambda: self._telegram("/_test/ping")["ok"], 60, "the fake Telegram API")

    def alerts_for(self, marker: str) -> list[str]:
        return [m for m in self.messages() if marker in m]

    def wait_alert(self, marker: str, timeout_s: float = 90) -> None:
        try:
            wait_until(lambda: self.alerts_for(marker), timeout_s, f"an alert for {marker!r}")
        except AssertionError as e:
            raise AssertionError(
                f"{e}\nmessages: {self.messages()}\n--- logs ---\n{self.logs()}"
            ) from None

    def settle(self, cycles: int = 4) -> None:
        """Let a few poll cycles pass (NEWSWATCH_POLL_INTERVAL is 2 s in the override), so that
        anything wrongly sent would have arrived. Used only before asserting an absence."""
        time.sleep(2.5 * cycles)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, Feed]]:
    reason = _missing_tooling()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("deploy")
    workdir = base / "newswatch"
    shutil.copytree(ROOT, workdir, ignore=COPY_IGNORE)
    # As the README says: cp .env.example .env, then fill in the two required values.
    env_text = (workdir / ".env.example").read_text(encoding="utf-8")
    for key, value in (("TELEGRAM_BOT_TOKEN", TOKEN), ("POSTGRES_PASSWORD", "deploytest1")):
        assert f"\n{key}=\n" in env_text, f".env.example must document {key}"
        env_text = env_text.replace(f"\n{key}=\n", f"\n{key}={value}\n")
    (workdir / ".env").write_text(env_text, encoding="utf-8")
    # The user's config folder: one feed (the feed container) and one rule.
    config = workdir / "config"
    shutil.rmtree(config, ignore_errors=True)
    (config / "rules").mkdir(parents=True)
    (config / "feeds.yaml").write_text(
        "feeds:\n  - url: http://feeds:8000/feed.xml\n    name: Deployment test feed\n"
        "    interval: 2s\n"
    )
    (config / "rules" / "test.yaml").write_text(_rule_yaml('"Spratly Islands"'))
    feed_dir = base / "feed"
    feed_dir.mkdir()
    for path in [config, config / "rules", feed_dir]:
        path.chmod(0o755)  # the containers run as uid 10001
    for path in [config / "feeds.yaml", config / "rules" / "test.yaml"]:
        path.chmod(0o644)
    feed = Feed(feed_dir)
    d = Deployment(workdir, feed_dir)
    try:
        d.compose("build", timeout_s=900)
        d.compose("up", "-d", "--build", timeout_s=600)
        yield d, feed
    finally:
        d.compose("down", "-v", "--remove-orphans", timeout_s=300, check=False)
        _docker_api(f"/images/{d.image}", method="DELETE")  # the tag only; layers stay cached


def test_compose_deployment(deployment: tuple[Deployment, Feed]) -> None:
    d, feed = deployment
    rule_file = d.workdir / "config" / "rules" / "test.yaml"

    # 1. The bot comes up against PostgreSQL and answers /readyz with every check passing.
    body = d.wait_ready()
    assert body["status"] == "ready"
    assert all(check["ok"] for check in body["checks"].values()), body
    uid = d.compose("exec", "-T", "bot", "id", "-u").stdout.strip()
    assert uid == "10001", "the bot must not run as root"
    compilers = d.compose("exec", "-T", "bot", "sh", "-c", "command -v gcc cc c++", check=False)
    assert compilers.stdout.strip() == "", f"compilers in the final image: {compilers.stdout}"
    doctor = d.compose("exec", "-T", "bot", "newswatch", "doctor", check=False)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "postgresql+asyncpg://newswatch:***@db:5432/newswatch" in doctor.stdout
    assert "deploytest1" not in doctor.stdout
    assert TOKEN not in d.logs()

    # 2. A chat subscribes; a story matching the mounted rule raises exactly one alert.
    d.wait_telegram()
    d.user_sends(f"/subscribe {RULE_ID}")
    wait_until(d.messages, 60, "the bot's answer to /subscribe")
    feed.add(
        Item("a-1", "Patrol ships near the Spratly Islands [A1]", "Vessels were seen on Monday."),
        Item("b-1", "Rice exports rise [B1]", "Farmers in the Mekong delta sold more rice."),
    )
    d.wait_alert("[A1]")
    d.settle()
    assert len(d.alerts_for("[A1]")) == 1
    assert d.alerts_for("[B1]") == []
    exposition = d.metrics()
    assert f'newswatch_matches_total{{rule="{RULE_ID}"}} 1.0\n' in exposition
    assert "newswatch_alerts_sent_total 1.0\n" in exposition
    assert 'newswatch_polls_total{feed="http://feeds:8000/feed.xml"}' in exposition

    # 3. Editing the rule file on the host changes what is alerted (picked up live).
    rule_file.write_text(_rule_yaml("Scarborough"), encoding="utf-8")

    def new_rule_in_force() -> bool:
        marker = f"[P{uuid.uuid4().hex[:6]}]"
        feed.add(Item(marker, f"Fishermen at Scarborough Shoal {marker}", "Probe item."))
        try:
            wait_until(lambda: d.alerts_for(marker), 8, "probe alert")
        except AssertionError:
            return False
        return True

    wait_until(new_rule_in_force, 120, "the edited rule to take effect", every_s=0)
    feed.add(
        Item("c-1", "More ships at the Spratly Islands [C1]", "Only the old rule matches this."),
        Item("d-1", "Talks on Scarborough Shoal [D1]", "The new rule matches this."),
    )
    d.wait_alert("[D1]")
    d.settle()
    assert d.alerts_for("[C1]") == [], "the old rule still fired after the edit"

    # 4. docker-compose restart loses nothing and repeats nothing.
    before = d.messages()
    feed.add(Item("e-1", "Coast guard drill near Scarborough [E1]", "Published during restart."))
    d.compose("restart", "bot", "db")
    assert "msg=stopped" in d.logs(), "the bot did not stop cleanly on SIGTERM"
    d.wait_ready()
    d.wait_alert("[E1]")
    d.settle()
    after = d.messages()
    assert after[: len(before)] == before
    assert [m for m in after[len(before) :] if "[E1]" not in m] == [], "repeated after restart"
    assert len(d.alerts_for("[E1]")) == 1

    # 5. down, then up: the data (articles, matches, subscriptions) is kept in the volumes, and
    #    a story published while everything was down is alerted once when it is back.
    d.compose("down")
    feed.add(Item("f-1", "Scarborough Shoal talks resume [F1]", "Published while down."))
    d.compose("up", "-d")
    d.wait_ready()
    d.wait_telegram()
    d.wait_alert("[F1]")
    d.settle()
    # The fake Telegram container was recreated (empty log): only the new story was sent.
    assert d.messages() == d.alerts_for("[F1]"), d.messages()
    assert len(d.alerts_for("[F1]")) == 1

    # 6. The container health check (python -m bot.ops.health_probe) reports healthy.
    def healthy() -> bool:
        ps = d.compose("ps", "bot").stdout
        return "(healthy)" in ps

    wait_until(healthy, 120, "docker-compose ps to show the bot (healthy)", every_s=2)

    # 7. Two replicas on the one PostgreSQL (as docs/deployment.md says: an empty
    #    NEWSWATCH_HEALTH_PORT gives each replica a free port): both ready, one alert per story.
    before = d.messages()
    d.env["NEWSWATCH_HEALTH_PORT"] = ""
    d.compose("up", "-d", "--scale", "bot=2")
    ports = []
    for index in (1, 2):
        mapped = d.compose("port", f"--index={index}", "bot", "8080").stdout.strip()
        ports.append(int(mapped.rsplit(":", 1)[1]))

    def all_ready() -> bool:
        try:
            return all(d.readyz(port)[0] == 200 for port in ports)
        except OSError:  # a replica not listening yet
            return False

    wait_until(all_ready, 180, "both replicas to answer /readyz 200", every_s=2)
    roles = [d.readyz(port)[1]["checks"]["telegram"]["detail"] for port in ports]
    assert sum("standby" in role for role in roles) == 1, roles  # one sender, one standby
    feed.add(Item("g-1", "Scarborough patrols, two replicas [G1]", "Polled by either one."))
    d.wait_alert("[G1]")
    d.settle()
    assert len(d.alerts_for("[G1]")) == 1, d.messages()
    assert d.messages()[: len(before)] == before
