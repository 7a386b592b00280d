"""Settings: read once at start-up from the environment (and ``.env``).

Validated into a typed, frozen object. A bad value raises ``ConfigError`` whose message is one
line naming the setting; the CLI prints it and exits. Contains no business logic. The feeds file
is ``bot.config.feeds_file``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from core.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/newswatch.db"
DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_CACHE_DIR = Path("data") / "cache"
DEFAULT_HEALTH_ADDR = "127.0.0.1:8080"
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram's setWebhook allows


@dataclass(frozen=True, slots=True)
class Settings:
    """Deployment settings and secrets. Built by ``load_settings``."""

    telegram_bot_token: str | None = None
    telegram_api_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: frozenset[int] = frozenset()
    allowed_ids: frozenset[int] = frozenset()  # empty: open to everyone
    config_dir: Path = Path("config")
    # compiled rule sets cached by file content (rules.cache); None: no cache. load_settings
    # defaults it to ./data/cache (NEWSWATCH_CACHE_DIR; empty disables it)
    cache_dir: Path | None = None
    timezone: str = "UTC"
    poll_interval_s: float = 300.0
    tick_s: float = 5.0  # how often the scheduler looks for due feeds
    alert_on_first_poll: bool = False
    allow_private_feed_addresses: bool = False
    retention_days: int = 90
    log_level: str = "INFO"
    log_format: str = "kv"  # kv | json
    health_addr: str = DEFAULT_HEALTH_ADDR  # host:port; empty disables the endpoint
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
    personal_rules_per_chat: int = 20  # /watch rules a chat may save (0: previews only)
    # Webhook mode (bot.telegram.webhook): Telegram POSTs updates to this public https URL,
    # which a proxy forwards to any replica's WEBHOOK_PATH; None: long polling by the sender.
    telegram_webhook_url: str | None = None
    telegram_webhook_secret_set: str | None = field(default=None, repr=False)  # None: derived
    # Time limits and bounds of the poll path (issue #12): no stage may stall the bot.
    fetch_timeout_s: float = 60.0  # a whole feed request, body included
    fetch_idle_timeout_s: float = 30.0  # between two bytes of a response
    parse_timeout_s: float = 30.0  # a parse worker past this is killed and replaced
    full_text_timeout_s: float = 30.0  # all article pages of one poll together
    max_polls_in_flight: int = 32
    max_polls_per_host: int = 4
    stall_after_s: float = 300.0  # no progress while work is due for this long: unhealthy
    # every NEWSWATCH_* variable as given; some are secrets (the console's, the webhook's)
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def feeds_file(self) -> Path:
        return self.config_dir / "feeds.yaml"

    @property
    def rules_dir(self) -> Path:
        return self.config_dir / "rules"

    @property
    def rules_cache_dir(self) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / "rules"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def telegram_webhook(self) -> bool:
        """True in webhook mode: no replica long-polls Telegram."""
        return self.telegram_webhook_url is not None and self.telegram_bot_token is not None

    @property
    def telegram_webhook_secret(self) -> str:
        """The ``X-Telegram-Bot-Api-Secret-Token`` every update must carry: the configured one,
        else derived from the bot token (HMAC-SHA256, hex), so that every replica agrees on it
        with nothing stored and it changes when the token is revoked."""
        if self.telegram_webhook_secret_set is not None:
            return self.telegram_webhook_secret_set
        token = (self.telegram_bot_token or "").encode()
        return hmac.new(token, b"newswatch telegram webhook", hashlib.sha256).hexdigest()


def parse_duration(value: object, setting: str) -> float:
    """``"90"``, ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a number -> seconds (> 0)."""
    if isinstance(value, bool):
        raise ConfigError(f"{setting}: expected a duration such as 300, 5m or 1h, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ConfigError(
                f"{setting}: expected a duration such as 300, 5m or 1h, got {value!r}"
            )
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if seconds <= 0:
        raise ConfigError(f"{setting}: must be greater than zero, got {value!r}")
    return seconds


def _parse_bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _parse_ids(name: str, raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in re.split(r"[,\s]+", raw.strip()):
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(
                f"{name}: expected comma-separated numeric Telegram IDs, got {part!r}"
            ) from None
    return frozenset(ids)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Build settings from ``environ`` (default ``os.environ``) over an optional ``.env`` file.

    Real environment variables win over the file. Unknown variables are ignored.
    """
    env: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    kwargs: dict[str, Any] = {}
    token = get("TELEGRAM_BOT_TOKEN")
    if token is not None:
        if not _TOKEN_RE.match(token):
            # Never echo the token itself: it is a secret even when malformed.
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN: does not look like a bot token (expected 123456:ABC..., "
                "as given by @BotFather)"
            )
        kwargs["telegram_bot_token"] = token
    if (base := get("TELEGRAM_API_BASE_URL")) is not None:
        if not re.match(r"^https?://", base):
            raise ConfigError(
                f"TELEGRAM_API_BASE_URL: must start with http:// or https://, got {base!r}"
            )
        kwargs["telegram_api_base_url"] = base
    if (db := get("DATABASE_URL")) is not None:
        kwargs["database_url"] = _normalise_database_url(db)
    if (raw := get("ADMIN_IDS")) is not None:
        kwargs["admin_ids"] = _parse_ids("ADMIN_IDS", raw)
    if (raw := get("ALLOWED_IDS")) is not None:
        kwargs["allowed_ids"] = _parse_ids("ALLOWED_IDS", raw)
    if (raw := get("NEWSWATCH_CONFIG_DIR")) is not None:
        kwargs["config_dir"] = Path(raw)
    raw_cache = env.get("NEWSWATCH_CACHE_DIR")
    if raw_cache is None:
        kwargs["cache_dir"] = DEFAULT_CACHE_DIR
    elif raw_cache.strip():
        kwargs["cache_dir"] = Path(raw_cache.strip())
    if (raw := get("NEWSWATCH_TIMEZONE")) is not None:
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"NEWSWATCH_TIMEZONE: unknown time zone {raw!r} (use a name such as "
                "Asia/Ho_Chi_Minh or UTC)"
            ) from None
        kwargs["timezone"] = raw
    if (raw := get("NEWSWATCH_POLL_INTERVAL")) is not None:
        kwargs["poll_interval_s"] = parse_duration(raw, "NEWSWATCH_POLL_INTERVAL")
    if (raw := get("NEWSWATCH_TICK_INTERVAL")) is not None:
        kwargs["tick_s"] = parse_duration(raw, "NEWSWATCH_TICK_INTERVAL")
    if (raw := get("NEWSWATCH_ALERT_ON_FIRST_POLL")) is not None:
        kwargs["alert_on_first_poll"] = _parse_bool("NEWSWATCH_ALERT_ON_FIRST_POLL", raw)
    if (raw := get("NEWSWATCH_ALLOW_PRIVATE_ADDRESSES")) is not None:
        kwargs["allow_private_feed_addresses"] = _parse_bool(
            "NEWSWATCH_ALLOW_PRIVATE_ADDRESSES", raw
        )
    if (raw := get("NEWSWATCH_RETENTION_DAYS")) is not None:
        try:
            days = int(raw)
        except ValueError:
            days = 0
        if days < 1:
            raise ConfigError(
                f"NEWSWATCH_RETENTION_DAYS: expected a whole number of days >= 1, got {raw!r}"
            )
        kwargs["retention_days"] = days
    if (raw := get("NEWSWATCH_LOG_LEVEL")) is not None:
        level = raw.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(
                f"NEWSWATCH_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {raw!r}"
            )
        kwargs["log_level"] = level
    if (raw := get("NEWSWATCH_LOG_FORMAT")) is not None:
        if raw.lower() not in {"kv", "json"}:
            raise ConfigError(f"NEWSWATCH_LOG_FORMAT: expected kv or json, got {raw!r}")
        kwargs["log_format"] = raw.lower()
    if (raw := env.get("NEWSWATCH_HEALTH_ADDR")) is not None:
        raw = raw.strip()
        if raw and not re.match(r"^[\w.\-\[\]:]*:\d{1,5}$", raw):
            raise ConfigError(
                f"NEWSWATCH_HEALTH_ADDR: expected host:port (or empty to disable), got {raw!r}"
            )
        kwargs["health_addr"] = raw
    if (raw := get("NEWSWATCH_USER_AGENT")) is not None:
        kwargs["user_agent"] = raw
    if (raw := get("NEWSWATCH_PERSONAL_RULES_PER_CHAT")) is not None:
        if not raw.isdigit():
            raise ConfigError(
                "NEWSWATCH_PERSONAL_RULES_PER_CHAT: expected a whole number >= 0 (0: /watch only "
                f"previews), got {raw!r}"
            )
        kwargs["personal_rules_per_chat"] = int(raw)
    kwargs.update(_runtime_limits(get))
    kwargs.update(_webhook_settings(get, kwargs))
    kwargs["extra"] = {k: v for k, v in env.items() if k.startswith("NEWSWATCH_")}
    return Settings(**kwargs)


_DURATION_LIMITS = {
    "NEWSWATCH_FETCH_TIMEOUT": "fetch_timeout_s",
    "NEWSWATCH_FETCH_IDLE_TIMEOUT": "fetch_idle_timeout_s",
    "NEWSWATCH_PARSE_TIMEOUT": "parse_timeout_s",
    "NEWSWATCH_FULL_TEXT_TIMEOUT": "full_text_timeout_s",
    "NEWSWATCH_STALL_AFTER": "stall_after_s",
}
_COUNT_LIMITS = {
    "NEWSWATCH_MAX_POLLS": "max_polls_in_flight",
    "NEWSWATCH_MAX_POLLS_PER_HOST": "max_polls_per_host",
}


def _runtime_limits(get: Any) -> dict[str, Any]:
    """The poll path's time limits and bounds (durations, and whole numbers >= 1)."""
    out: dict[str, Any] = {}
    for name, key in _DURATION_LIMITS.items():
        if (raw := get(name)) is not None:
            out[key] = parse_duration(raw, name)
    for name, key in _COUNT_LIMITS.items():
        if (raw := get(name)) is not None:
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigError(f"{name}: expected a whole number >= 1, got {raw!r}")
            out[key] = int(raw)
    return out


def _webhook_settings(get: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``NEWSWATCH_TELEGRAM_WEBHOOK_URL`` / ``_SECRET``, checked against what Telegram accepts
    and what the mode needs (a token, and the HTTP server the webhook route is served on)."""
    out: dict[str, Any] = {}
    secret = get("NEWSWATCH_TELEGRAM_WEBHOOK_SECRET")
    if secret is not None:
        if not _WEBHOOK_SECRET_RE.match(secret):
            # Never echo the secret.
            raise ConfigError(
                "NEWSWATCH_TELEGRAM_WEBHOOK_SECRET: Telegram allows 1 to 256 characters "
                "A-Z, a-z, 0-9, _ and - only"
            )
        out["telegram_webhook_secret_set"] = secret
    url = get("NEWSWATCH_TELEGRAM_WEBHOOK_URL")
    if url is None:
        return out
    name = "NEWSWATCH_TELEGRAM_WEBHOOK_URL"
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigError(f"{name}: expected https://your.host/telegram/webhook, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # Telegram delivers to https only; plain http is for a local fake Bot API in tests.
        raise ConfigError(
            f"{name}: must be an https:// URL (Telegram delivers webhooks over TLS only; "
            f"http:// is accepted for 127.0.0.1/localhost test set-ups), got {url!r}"
        )
    if "telegram_bot_token" not in kwargs:
        raise ConfigError(f"{name}: webhook mode needs TELEGRAM_BOT_TOKEN too")
    if not kwargs.get("health_addr", DEFAULT_HEALTH_ADDR):
        raise ConfigError(
            f"{name}: webhook mode serves updates on NEWSWATCH_HEALTH_ADDR's server; "
            "set it (e.g. 0.0.0.0:8080) instead of leaving it empty"
        )
    out["telegram_webhook_url"] = url
    return out


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``sqlite:///``) and pick async drivers."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise ConfigError(
        f"DATABASE_URL: unsupported database {url.split('://', 1)[0]!r} "
        "(use sqlite:///path/to/file.db or postgresql://user:pass@host/db)"
    )


def safe_database_url(url: str) -> str:
    """``url`` with its password shown as ``***``, for logs and reports."""
    from sqlalchemy.engine import make_url  # only callers that show a URL pay for the import

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable DATABASE_URL)"
