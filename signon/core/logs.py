"""Where log records go and in which shape: JSON lines in production, text in development.

``SIGNON_LOG_FORMAT`` chooses (``json`` or ``text``; by default ``json`` in production and
``text`` in development). Every record carries the request id (see
:mod:`signon.core.request_id`), so one request's lines, and its jobs', can be found
together. The handler goes on the root logger, once per process; the test suite keeps
its own (pytest captures records itself).
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

from signon.config import Settings

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
#: The fields of each JSON line, besides anything passed in ``extra=``.
JSON_FIELDS = ("asctime", "levelname", "name", "message", "request_id")


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
            defaults={"request_id": None},
        )
    return _TextFormatter(TEXT_FORMAT)


class _TextFormatter(logging.Formatter):
    """Text lines with ``[-]`` where there is no request id (startup, a CLI command)."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
            try:
                return super().format(record)
            finally:
                record.request_id = None
        return super().format(record)


class _SignonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler this module installs (so a second app in the process does not add another)."""


def install_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """Send every record at INFO and above to ``stream`` (stderr) in ``log_format``.

    Replaces a handler installed earlier by this function; returns the new one.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SignonHandler)]:
        root.removeHandler(old)
    handler = _SignonHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def init_app(app: Flask) -> None:
    settings: Settings = app.config["SIGNON"]
    log_format = settings.resolved_log_format  # a malformed setting stops the start here
    if not settings.testing:
        install_handler(log_format)
