"""Process-wide logging: one line per record, key=value or JSON, with secrets redacted.

Call ``setup_logging`` once at start-up. Context goes in ``extra=``: for example
``log.warning("feed failed", extra={"feed": url, "error": str(e)})``; the fields ``feed``,
``rule`` and ``chat`` (and any other extra key) become fields of the line.

Redaction happens in a handler filter and again on the formatted line, so it covers the
message, its arguments, extra fields, exception tracebacks and stack info of every logger that
propagates to the root (ours, aiohttp, httpx, python-telegram-bot, APScheduler, SQLAlchemy). It
replaces every given secret and any ``bot<digits>:<secret>`` Bot API URL fragment. Does not
configure where logs go beyond stderr (Docker collects stderr; rotation is Docker's job).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, TextIO
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from bot.config.settings import Settings

REDACTED = "<redacted>"
# A Bot API path carries the token: https://api.telegram.org/bot123456:AAE.../sendMessage, also
# URL-encoded (%3A) when a library quotes it. Bare tokens (123456:AAE..., 30+ chars) too.
_TOKEN_PATTERNS = (
    re.compile(r"bot\d+(?::|%3[Aa])[A-Za-z0-9_-]+"),
    re.compile(r"\b\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}"),
)
_MIN_SECRET_LEN = 6  # shorter "secrets" would blank ordinary words

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
# Fields shown first, in this order, when present.
_CONTEXT_FIELDS = ("feed", "rule", "chat")
_HANDLER_MARK = "_newswatch_handler"
# Third-party loggers that are chatty at INFO: httpx logs every Bot API request (with its URL).
_QUIET_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "alembic": logging.WARNING,
}


class Redactor:
    """Replaces secrets in text. Holds the secrets; never logs or shows them."""

    def __init__(self, secrets: Sequence[str]) -> None:
        literal = {s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(literal, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(_redact_match, text)
        return text


def _redact_match(m: re.Match[str]) -> str:
    return "bot" + REDACTED if m.group(0).startswith("bot") else REDACTED


class RedactingFilter(logging.Filter):
    """Rewrites each record so no secret survives in its message, extras or exception text.

    Attached to the handler (handler filters see records from every propagating logger, unlike
    logger filters). Always lets the record through.
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not drop the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        # exc_info stays for other handlers (caplog); formatters use the cached, redacted exc_text.
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    extras = {
        k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")
    }
    ordered = {k: extras.pop(k) for k in _CONTEXT_FIELDS if k in extras}
    ordered.update(sorted(extras.items()))
    return ordered


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _kv_value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if text and not re.search(r'[\s"=\\]', text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\r", "\\r").replace("\t", "\\t") + '"'


class _StructuredFormatter(logging.Formatter):
    """Turns a record into named fields (``ts``, ``level``, ``logger``, ``msg``, the extras,
    ``exc``); subclasses only render them as one line. The line is redacted last."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update(_extra_fields(record))
        exc = _exception_text(self, record)
        if exc:
            fields["exc"] = exc
        return self._redact(self.render(fields))

    def render(self, fields: dict[str, object]) -> str:
        raise NotImplementedError


class KeyValueFormatter(_StructuredFormatter):
    """``ts=... level=info logger=bot.runtime.pipeline msg="..." feed=... exc="..."``, one line."""

    def render(self, fields: dict[str, object]) -> str:
        return " ".join(f"{k}={_kv_value(v)}" for k, v in fields.items())


class JsonFormatter(_StructuredFormatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, extras, ``exc``."""

    def render(self, fields: dict[str, object]) -> str:
        return json.dumps(fields, default=str, ensure_ascii=False)


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    parts: list[str] = []
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts)


def secrets_from_settings(settings: Settings) -> list[str]:
    """The values ``setup_logging`` should redact: the bot token and the database password."""
    found: list[str] = []
    if settings.telegram_bot_token:
        found.append(settings.telegram_bot_token)
    try:
        password = urlsplit(settings.database_url).password
    except ValueError:
        password = None
    if password:
        found.extend({password, unquote(password)})
    return found


def setup_logging(
    level: str, fmt: str, secrets: Sequence[str], stream: TextIO | None = None
) -> None:
    """Send every log record to ``stream`` (stderr) as one ``fmt`` line (``kv`` or ``json``).

    Replaces a handler installed by an earlier call (safe to call again, e.g. in tests), keeps
    handlers others installed (pytest's caplog), quietens chatty libraries unless ``level`` is
    DEBUG, and routes uncaught exceptions through logging so they are redacted too.
    """
    if fmt not in {"kv", "json"}:
        raise ValueError(f"log format must be 'kv' or 'json', got {fmt!r}")
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(KeyValueFormatter(redact) if fmt == "kv" else JsonFormatter(redact))
    handler.addFilter(RedactingFilter(redact))
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    debug = level.upper() == "DEBUG"
    for name, quiet_level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(logging.NOTSET if debug else quiet_level)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("newswatch").critical("uncaught exception", exc_info=(exc_type, exc, tb))
