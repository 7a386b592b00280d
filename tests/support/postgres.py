"""A throwaway PostgreSQL server for the test session, started from the installed binaries.

``initdb`` + ``pg_ctl`` on a temporary directory and a free port on 127.0.0.1; each test gets a
fresh database on it (``CREATE DATABASE``), so tests never see each other's rows. PostgreSQL
refuses to run as root: when the tests run as root, the server runs as the ``postgres`` user
(or ``nobody``) through ``runuser``/``setpriv``, with the temporary directory chowned to it.

Fixtures (import them into a conftest): ``postgres_server`` (session), ``postgres_url``
(function: a URL to a new empty database), ``database_url`` (function, parametrised over
``sqlite`` and ``postgresql``). PostgreSQL tests are skipped, with one reason, only when no
PostgreSQL binaries are installed.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_REASON = (
    "PostgreSQL binaries not found (install the `postgresql` package: "
    "apt-get install -y postgresql); PostgreSQL tests skipped"
)


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL bin directory holding initdb and pg_ctl, if any."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates and (found := shutil.which("initdb")):
        candidates = [found]
    if not candidates:
        return None

    def version(path: str) -> tuple[int, ...]:
        parts = Path(path).parent.parent.name.split(".")
        return tuple(int(p) for p in parts if p.isdigit())

    return Path(max(candidates, key=version)).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unprivileged_user() -> str | None:
    """The user to run the server as when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL")


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *argv]
    entry = pwd.getpwnam(user)
    return [
        "setpriv",
        f"--reuid={entry.pw_uid}",
        f"--regid={entry.pw_gid}",
        "--clear-groups",
        *argv,
    ]


@dataclass
class PostgresServer:
    """A running server; ``url(db)`` builds an asyncpg URL, ``new_database()`` makes one."""

    host: str
    port: int
    user: str
    _counter: itertools.count[int]
    # What ``restart`` needs (the chaos test restarts its own server mid-run).
    _restart_argv: list[str] | None = None
    _cwd: Path | None = None

    def restart(self) -> None:
        """Stop the server at once (as a crash would: ``-m immediate``) and start it again on
        the same port and data; every client connection is cut."""
        assert self._restart_argv is not None
        subprocess.run(
            self._restart_argv, check=True, capture_output=True, timeout=120, cwd=self._cwd
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    async def new_database(self) -> str:
        import asyncpg

        name = f"t{os.getpid()}_{next(self._counter)}"
        conn = await asyncpg.connect(
            host=self.host, port=self.port, user=self.user, database="postgres"
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)


def start_postgres(
    bin_dir: Path, *, durable_commits: bool = False
) -> Generator[PostgresServer, None, None]:
    """Start a server, yield it, stop it and delete its files (a generator for a fixture).

    For speed, commits are acknowledged before their WAL is written (``synchronous_commit=off``)
    unless ``durable_commits``: a crash of the server (``restart``) then loses the last few
    hundred milliseconds of committed transactions, which no deployment's server does (its
    default is on). A test that crashes the server must ask for ``durable_commits``. ``fsync``
    stays off either way: only a crash of the operating system would need it."""
    user = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="newswatch-pg-"))
    data, sockets, logfile = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120, "cwd": root}
    try:
        subprocess.run(
            _as_user(
                user,
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale=C",
                ],
            ),
            **run,  # type: ignore[call-overload]
        )
        commits = "on" if durable_commits else "off"
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit={commits} -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_user(
                user,
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(logfile),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ),
            **run,  # type: ignore[call-overload]
        )
    except subprocess.CalledProcessError as e:
        log = logfile.read_text() if logfile.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {e.stderr}\n{log}") from e
    try:
        restart = _as_user(
            user,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(logfile),
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "restart",
            ],
        )
        yield PostgresServer("127.0.0.1", port, "postgres", itertools.count(), restart, root)
    finally:
        subprocess.run(
            _as_user(
                user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            timeout=60,
            check=False,
            cwd=root,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session (skips when none can be had)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    yield from start_postgres(bin_dir)


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> str:
    """A URL to a new, empty database on the session's server."""
    return await postgres_server.new_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to a new, empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db' / 'newswatch.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        yield await server.new_database()


@contextlib.contextmanager
def running_postgres(bin_dir: Path, *, durable_commits: bool = False) -> Iterator[PostgresServer]:
    """``start_postgres`` as a ``with`` block (for scripts: the benchmarks)."""
    yield from start_postgres(bin_dir, durable_commits=durable_commits)
