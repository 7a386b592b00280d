"""``newswatch doctor``: checks configuration, database, rules and Telegram, and says how to fix
what is wrong.

Each check is independent and bounded in time, so one broken part never hides the others.
Read-only: it creates no database file, runs no migration and sends no message (Telegram is
asked ``getMe`` only). Never prints the bot token or the database password.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from bot.config.feeds_file import load_feeds_file
from bot.config.rule_files import load_rules_dir, rule_files
from bot.config.settings import Settings, safe_database_url
from bot.ops.logging_setup import Redactor, secrets_from_settings
from core.errors import NewswatchError
from core.text import plural
from rules.normalize import FAST_FOLD
from rules.wordscan import WORD_SCANNER

CHECK_TIMEOUT_S = 15.0


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    status: Status
    area: str
    message: str
    fix: str | None = None


def _ok(area: str, message: str) -> Finding:
    return Finding(Status.OK, area, message)


def _warn(area: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Status.WARN, area, message, fix)


def _fail(area: str, message: str, fix: str | None = None) -> Finding:
    return Finding(Status.FAIL, area, message, fix)


# configuration ----------------------------------------------------------------------------------


def check_configuration(settings: Settings, in_container: bool | None = None) -> list[Finding]:
    """The config folder and feeds file exist and parse; the health address is sensible.

    ``in_container`` (detected when None) decides whether listening on every interface is normal.
    """
    area = "configuration"
    found: list[Finding] = []
    config_dir = settings.config_dir
    if not config_dir.is_dir():
        return [
            _fail(
                area,
                f"config folder {config_dir} does not exist",
                "set NEWSWATCH_CONFIG_DIR to the folder holding feeds.yaml and rules/ "
                "(in Docker: mount it at /app/config)",
            )
        ]
    try:
        feeds = load_feeds_file(settings.feeds_file, settings.poll_interval_s)
    except NewswatchError as e:
        found.append(_fail(area, str(e), f"fix {settings.feeds_file} (see docs/deployment.md)"))
    else:
        enabled = sum(1 for f in feeds.feeds if f.enabled)
        if enabled == 0:
            found.append(
                _warn(
                    area,
                    f"{settings.feeds_file}: no enabled feeds, nothing will be polled",
                    "add feeds under 'feeds:' in feeds.yaml",
                )
            )
        else:
            found.append(
                _ok(
                    area,
                    f"{settings.feeds_file}: {enabled} of "
                    f"{plural(len(feeds.feeds), 'feed')} enabled",
                )
            )
    if settings.health_addr:
        host = settings.health_addr.rpartition(":")[0].strip("[]")
        if in_container is None:
            in_container = Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()
        if host in {"", "0.0.0.0", "::"} and not in_container:
            found.append(
                _warn(
                    area,
                    f"health endpoint listens on every interface ({settings.health_addr})",
                    "outside a container use NEWSWATCH_HEALTH_ADDR=127.0.0.1:8080 unless "
                    "/metrics is meant to be public",
                )
            )
        else:
            found.append(_ok(area, f"health endpoint on {settings.health_addr}"))
    else:
        found.append(_ok(area, "health endpoint disabled (NEWSWATCH_HEALTH_ADDR is empty)"))
    return found


# database ---------------------------------------------------------------------------------------


def _database_hint(error: BaseException, url: str) -> tuple[str, str]:
    """A one-line description of a connection error and what to do about it."""
    original: BaseException = getattr(error, "orig", None) or error
    name = type(original).__name__
    text = (str(original).strip().splitlines() or [name])[0]
    postgres = url.startswith("postgresql")
    if name in {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
        return (
            f"the server rejected the user or password ({text})",
            "make the user and password in DATABASE_URL match the server (in Docker Compose: "
            "POSTGRES_USER / POSTGRES_PASSWORD in .env; they apply only when the volume is new)",
        )
    if name == "InvalidCatalogNameError":
        return (
            f"the database does not exist ({text})",
            "create it (createdb) or fix the database name at the end of DATABASE_URL",
        )
    if isinstance(original, ConnectionRefusedError) or "refused" in text.lower():
        return (
            f"connection refused ({text})",
            "start the database server, or fix host and port in DATABASE_URL"
            + (" (in Docker Compose the host is 'db')" if postgres else ""),
        )
    if isinstance(original, OSError | TimeoutError) or "resolve" in text.lower():
        return (
            f"cannot reach the database server ({name}: {text})",
            "check the host name and port in DATABASE_URL and that the server is running",
        )
    return f"{name}: {text}", "check DATABASE_URL and the database server's log"


def _sqlite_precheck(url: str, shown: str) -> Finding | None:
    """A verdict for a SQLite URL that must not be opened (opening would create the file)."""
    area = "database"
    path_text = url.split(":///", 1)[1] if ":///" in url else ""
    if path_text in {"", ":memory:"}:
        return _warn(area, f"{shown} is in memory: nothing survives a restart")
    path = Path(path_text)
    if not path.exists():
        folder = path.parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return _ok(area, f"{shown}: no database yet, created at first start")
        return _fail(
            area,
            f"{shown}: folder {folder} is missing or not writable",
            f"create {folder} and give it to the user running newswatch "
            "(in Docker: the /data volume)",
        )
    if not os.access(path, os.R_OK | os.W_OK):
        return _fail(
            area,
            f"{shown}: file is not readable and writable by this user",
            f"chown the file to the user running newswatch (uid {os.getuid()})",
        )
    return None


async def check_database(settings: Settings) -> list[Finding]:
    """Connect, run ``SELECT 1`` and report the schema revision. Never creates a SQLite file."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    area = "database"
    url = settings.database_url
    shown = safe_database_url(url)
    if url.startswith("sqlite") and (early := _sqlite_precheck(url, shown)) is not None:
        return [early]
    engine = create_async_engine(url, connect_args=_connect_args(url))
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await _schema_revision(conn)
            failing = await _failing_feeds(conn)
    except TimeoutError:
        return [
            _fail(
                area,
                f"{shown}: no answer within {CHECK_TIMEOUT_S:g} s",
                "check that the database server is running and reachable from here",
            )
        ]
    except Exception as e:
        problem, fix = _database_hint(e, url)
        return [_fail(area, f"{shown}: {problem}", fix)]
    finally:
        await engine.dispose()
    if revision is None:
        return [_ok(area, f"{shown}: reachable, no tables yet (created at first start)")]
    found = [_ok(area, f"{shown}: reachable, schema revision {revision}")]
    for name, problem in failing:
        found.append(
            _fail("feeds", f"{name}: {problem}", "see `newswatch feeds`; fix or remove the feed")
        )
    return found


def _connect_args(url: str) -> dict[str, Any]:
    return {"timeout": 10} if url.startswith("postgresql") else {}


async def _failing_feeds(conn: Any) -> list[tuple[str, str]]:
    """(feed, problem) for each enabled feed the poller gave up on or whose last poll failed,
    as stored by the running bot; none when the table does not exist yet."""
    from sqlalchemy import inspect, select

    from storage.schema import feeds

    def has_table(sync_conn: Any) -> bool:
        return bool(inspect(sync_conn).has_table("feeds"))

    if not await conn.run_sync(has_table):
        return []
    query = (
        select(
            feeds.c.url,
            feeds.c.name,
            feeds.c.consecutive_errors,
            feeds.c.last_error,
            feeds.c.disabled_reason,
        )
        .where(feeds.c.enabled.is_(True))
        .order_by(feeds.c.url)
    )
    found: list[tuple[str, str]] = []
    for url, name, errors, last_error, disabled in await conn.execute(query):
        label = f"{name} ({url})" if name else url
        if disabled:
            found.append((label, f"disabled by the poller: {disabled}"))
        elif errors:
            found.append((label, f"{plural(errors, 'failed poll')} in a row: {last_error}"))
    return found


async def _schema_revision(conn: Any) -> str | None:
    from sqlalchemy import inspect, text

    def has_table(sync_conn: Any) -> bool:
        return bool(inspect(sync_conn).has_table("alembic_version"))

    if not await conn.run_sync(has_table):
        return None
    row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
    return None if row is None else str(row[0])


# rules ------------------------------------------------------------------------------------------


def check_rules(settings: Settings) -> list[Finding]:
    """The rules folder exists and every rule file loads."""
    area = "rules"
    rules_dir = settings.rules_dir
    if not rules_dir.is_dir():
        return [
            _fail(
                area,
                f"rules folder {rules_dir} does not exist",
                f"create {rules_dir} with at least one *.yaml rule file",
            )
        ]
    files = rule_files(rules_dir)
    if not files:
        return [
            _warn(
                area,
                f"{rules_dir}: no *.yaml rule files, nothing will match",
                "add a rule file (see config/rules/ in the repository for examples)",
            )
        ]
    try:
        ruleset = load_rules_dir(rules_dir)
    except NewswatchError as e:
        return [
            _fail(
                area,
                str(e),
                "fix the file and line named above (check with `newswatch rules check`); "
                "a running bot keeps its last good rules meanwhile",
            )
        ]
    return [
        _ok(
            area,
            f"{rules_dir}: {plural(len(ruleset.rules), 'rule')} from {plural(len(files), 'file')}",
        ),
        _engine_finding(),
    ]


def _engine_finding() -> Finding:
    """Whether the rule engine's C parts were built (they were not if no C compiler was
    present at install time: same results, about half the speed)."""
    if FAST_FOLD and WORD_SCANNER:
        return _ok("rules", "rule engine: C fold and word automaton in use")
    missing = [n for n, ok in (("_fastfold", FAST_FOLD), ("_wordscan", WORD_SCANNER)) if not ok]
    return _warn(
        "rules",
        f"rule engine: pure-Python fallback in use (rules.{', rules.'.join(missing)} not built);"
        " matching is correct but slower",
        "install a C compiler (e.g. apt-get install gcc python3-dev) and reinstall newswatch",
    )


# telegram ---------------------------------------------------------------------------------------


async def check_telegram(settings: Settings) -> list[Finding]:
    """Ask the Bot API ``getMe`` with the configured token and base URL."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

    area = "telegram"
    token = settings.telegram_bot_token
    if token is None:
        return [
            _warn(
                area,
                "no TELEGRAM_BOT_TOKEN: alerts are printed to the console, not sent",
                "create a bot with @BotFather and put its token in TELEGRAM_BOT_TOKEN (.env)",
            )
        ]
    base = settings.telegram_api_base_url
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            bot = Bot(token, base_url=base)
            try:
                me = await bot.get_me()
                hook = await bot.get_webhook_info()
            finally:
                await bot.shutdown()
    except InvalidToken:
        return [
            _fail(
                area,
                f"{base}: the token was rejected (revoked or mistyped)",
                "copy the token again from @BotFather (/mybots -> API Token) into "
                "TELEGRAM_BOT_TOKEN",
            )
        ]
    except (TimedOut, TimeoutError):
        return [
            _fail(
                area,
                f"{base}: no answer within {CHECK_TIMEOUT_S:g} s",
                "check outbound HTTPS from this host (firewall, proxy) or TELEGRAM_API_BASE_URL",
            )
        ]
    except NetworkError as e:
        return [
            _fail(
                area,
                f"{base}: cannot reach the Bot API ({e.message})",
                "check DNS and outbound HTTPS from this host, or TELEGRAM_API_BASE_URL",
            )
        ]
    except TelegramError as e:
        return [_fail(area, f"{base}: {type(e).__name__}: {e.message}", None)]
    found = [_ok(area, f"{base}: token accepted, bot is @{me.username}")]
    return found + _webhook_findings(settings, hook.url, hook.pending_update_count, hook)


def _webhook_findings(settings: Settings, url: str, pending: int, hook: Any) -> list[Finding]:
    """What ``getWebhookInfo`` says against the mode configured (webhook or long polling)."""
    area = "telegram"
    wanted = settings.telegram_webhook_url if settings.telegram_webhook else None
    if wanted is None:
        if not url:
            return []
        return [
            _warn(
                area,
                f"a webhook is set ({url}) but NEWSWATCH_TELEGRAM_WEBHOOK_URL is not: updates "
                "go there until the bot starts long polling (it deletes the webhook then)",
                "set NEWSWATCH_TELEGRAM_WEBHOOK_URL to keep webhook mode, or start the bot",
            )
        ]
    if url != wanted:
        return [
            _warn(
                area,
                f"webhook mode, but Telegram has {url or 'no webhook'} instead of {wanted}",
                "start the bot: its sender calls setWebhook at start",
            )
        ]
    error = getattr(hook, "last_error_message", None)
    if error:
        return [
            _warn(
                area,
                f"webhook {url}: Telegram's last delivery failed ({error}); {pending} pending",
                "check that the proxy forwards /telegram/webhook to a replica and that its TLS "
                "certificate is valid (docs/deployment.md)",
            )
        ]
    return [_ok(area, f"webhook {url}: set, {pending} update(s) pending")]


# the report -------------------------------------------------------------------------------------


async def _guarded(area: str, check: Callable[[], Awaitable[list[Finding]]]) -> list[Finding]:
    try:
        return await check()
    except Exception as e:  # a bug in one check must not hide the others
        return [_fail(area, f"the check itself failed: {type(e).__name__}: {e}", None)]


async def _sync(findings: list[Finding]) -> list[Finding]:
    return findings


def _print(findings: list[Finding], out: TextIO, redact: Redactor) -> None:
    width = max(len(f.area) for f in findings)
    indent = " " * (2 + 4 + 2 + width + 2)
    for f in findings:
        # Multi-line messages (a rule error with its caret) stay aligned under the first line.
        message = f.message.replace("\n", "\n" + indent)
        out.write(redact(f"  {f.status.value:<4}  {f.area:<{width}}  {message}\n"))
        if f.fix and f.status is not Status.OK:
            out.write(redact(f"{indent}fix: {f.fix}\n"))


async def run_doctor(settings: Settings, out: TextIO) -> int:
    """Run every check, print one line per finding (and a fix line when not ok) to ``out``.

    Returns the process exit code: 0 when nothing failed (warnings allowed), 1 otherwise.
    ``settings`` is already validated: a bad environment variable stops ``load_settings``
    before this runs, with its own one-line message.
    """
    out.write("newswatch doctor\n")
    groups = await asyncio.gather(
        _guarded("configuration", lambda: _sync(check_configuration(settings))),
        _guarded("database", lambda: check_database(settings)),
        _guarded("rules", lambda: _sync(check_rules(settings))),
        _guarded("telegram", lambda: check_telegram(settings)),
    )
    findings = [f for group in groups for f in group]
    # Library messages may quote a URL with the token in it: redact everything printed.
    _print(findings, out, Redactor(secrets_from_settings(settings)))
    failures = sum(1 for f in findings if f.status is Status.FAIL)
    warnings = sum(1 for f in findings if f.status is Status.WARN)
    if failures:
        out.write(f"{failures} problem(s), {warnings} warning(s): fix the FAIL lines above.\n")
        return 1
    out.write(f"all checks passed ({warnings} warning(s)).\n")
    return 0
