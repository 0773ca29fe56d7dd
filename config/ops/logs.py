"""Log lines: JSON (or plain text for developers), each with the request it belongs to, and
never a borrower's personal data.

Personal data is kept out of logs at the source (the access log drops query strings, SQL with
its parameters is never logged, ``request`` objects are not serialised); the formatters below
are the backstop: every finished line passes :func:`redact`, which blanks resident IDs, mobile
numbers, the values PostgreSQL quotes in constraint errors and query strings in request lines.
A person's name cannot be recognised by a pattern, so the sources above must not emit it —
``tests/ops/test_logs.py`` drives a representative workload and scans every line for the
names, IDs and phones it used.

This module is imported by ``LOGGING`` before the apps are ready: it must not import models.
"""

from __future__ import annotations

import contextvars
import logging
import re

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# What the current request (or Celery task) is: request_id, partner_id, user_id, task.
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "sme_log_context", default=None
)
CONTEXT_FIELDS = ("request_id", "partner_id", "user_id", "task_id", "task")


def context_set(**fields) -> contextvars.Token:
    return _context.set({k: v for k, v in fields.items() if v is not None})


def context_update(**fields) -> None:
    current = _context.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v is not None})


def context_reset(token: contextvars.Token) -> None:
    _context.reset(token)


def context_get() -> dict:
    return _context.get() or {}


# --- redaction ----------------------------------------------------------------------------
# Runs of 11 or more digits: a resident ID is 18 characters (17 digits and a digit or X) or 15
# digits (first generation), a mainland mobile number 11 digits starting with 1 (13 with the
# 86 country code).  One scan for digit runs, then a length check: lookbehind patterns cost a
# hundred times more on every line.
_DIGIT_RUN = re.compile(r"[0-9]{11,}[Xx]?")
# PostgreSQL quotes the offending values: 'Key (name)=(王芳) already exists', 'Failing row
# contains (…)'.
_PG_KEY = re.compile(
    r"(Key \([^)]*\)=\()(.*?)(\)(?: already exists| is not present|\.| conflicts|$))", re.M
)
_PG_ROW = re.compile(r"(Failing row contains \().*?(\)\.?)$", re.M)
# "GET /path?q=… HTTP/1.1": the query string of a request line (runserver, gunicorn).
_REQUEST_LINE_QUERY = re.compile(r"((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^ ?\"]*)\?[^ \"]*")
REDACTED = "[redacted]"
_ASCII_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_NOT_ALONE = _ASCII_ALNUM | {"."}


def _personal_number(match: re.Match) -> str:
    run = match.group(0)
    start, end = match.span()
    text = match.string
    if (start and text[start - 1] in _NOT_ALONE) or (end < len(text) and text[end] in _ASCII_ALNUM):
        return run  # part of a longer token (a hex id, a hash, a decimal fraction): not a number
    digits = len(run) - (run[-1] in "Xx")
    if (
        (len(run) == 18 and digits >= 17)
        or (digits == 15 and len(run) == 15)
        or (digits == 11 and run[0] == "1")
        or (digits == 13 and run.startswith("861"))
    ):
        return REDACTED
    return run


def redact_value(value):
    """``redact`` through a structure of dicts, lists and strings; an integer shaped like a
    resident ID or a phone number becomes the redaction mark."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**10:
        return REDACTED if redact(str(value)) == REDACTED else value
    return value


def redact(text: str) -> str:
    if not text:
        return text
    if "HTTP/" in text:
        text = _REQUEST_LINE_QUERY.sub(r"\1?" + REDACTED, text)
    if "Key (" in text:
        text = _PG_KEY.sub(r"\1" + REDACTED + r"\3", text)
    if "Failing row" in text:
        text = _PG_ROW.sub(r"\1" + REDACTED + r"\2", text)
    return _DIGIT_RUN.sub(_personal_number, text)


_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]*")


def safe_path(path: str) -> str:
    """The path with every segment that is not plain URL text (a name typed into a URL, say)
    replaced: ids and route words stay readable, nothing a person typed does."""
    if _SAFE_SEGMENT.fullmatch(path.replace("/", "")):
        return path
    return "/".join(seg if _SAFE_SEGMENT.fullmatch(seg) else REDACTED for seg in path.split("/"))


# --- formatters ---------------------------------------------------------------------------
# Extras some libraries attach that must not be serialised: Django's ``request`` (its repr
# carries the full URL with the query string) and runserver's socket.
_DROPPED_EXTRAS = ("request", "server_time", "socket")


# Django's own request warnings ("Not Found: /path") carry the path as an argument.
_PATH_LOGGERS = ("django.request", "django.security")


class RequestContextFilter(logging.Filter):
    """Adds the current request's (or task's) id, partner and user to every record, and
    makes the paths in Django's request warnings safe (see :func:`safe_path`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_PATH_LOGGERS) and isinstance(record.args, tuple):
            record.args = tuple(
                safe_path(a) if isinstance(a, str) and a.startswith("/") else a for a in record.args
            )
        ctx = _context.get()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ctx.get(name) if ctx else None)
        if record.request_id is None:
            # Django logs 4xx/5xx responses after the middleware has finished: the request
            # itself still carries its id.
            record.request_id = getattr(getattr(record, "request", None), "request_id", None)
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, the request context and any
    ``extra`` fields; non-ASCII kept readable; every value redacted (values, not the finished
    line, so that the line stays valid JSON)."""

    def __init__(self, *args, **kwargs):
        # time: ISO 8601 in UTC, the same in every process (gunicorn's master has no TIME_ZONE)
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)
        self._skip_fields.update(_DROPPED_EXTRAS)

    def process_log_record(self, log_data):
        # Context fields that are empty say nothing: leave them out of the line.
        for name in CONTEXT_FIELDS:
            if log_data.get(name) is None:
                log_data.pop(name, None)
        log_data = {"time": log_data.pop("time", None), **log_data}  # time first, for the eye
        return super().process_log_record(redact_value(log_data))


class PlainFormatter(logging.Formatter):
    """The developer's format: readable text with the request id, redacted like the JSON."""

    def __init__(self, fmt=None, *args, **kwargs):
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            *args,
            **kwargs,
        )

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = None
        return redact(super().format(record))


def logging_config(*, fmt: str, level: str) -> dict:
    """The ``LOGGING`` dict: one console handler in ``fmt`` ("json" or "plain").

    SQL statements with their parameters (``django.db.backends`` at DEBUG) would carry names
    in clear, so that logger stays at INFO whatever LOG_LEVEL says; Django's own messages and
    runserver's request lines go through the same handler (redacted) instead of Django's."""
    if fmt not in ("json", "plain"):
        raise ValueError(f"LOG_FORMAT must be 'json' or 'plain', not {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.ops.logs.RequestContextFilter"}},
        "formatters": {
            "json": {"()": "config.ops.logs.JsonFormatter"},
            "plain": {"()": "config.ops.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["context"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's default config adds its own console handler (with DEBUG on): everything
            # goes through ours instead, formatted and redacted.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.db.backends": {"level": "INFO"},
            # A template's missing variable is logged at DEBUG with the whole context (the
            # request, its search terms): the admin's theme looks up many optional ones.
            "django.template": {"level": "INFO"},
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # A failing readiness check is in /ready/'s answer and the access log; the library's
            # traceback per probe (every few seconds) would only bury it.  Its errors still log.
            "health_check": {"level": "ERROR"},
        },
    }
