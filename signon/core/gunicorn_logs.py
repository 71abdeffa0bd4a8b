"""gunicorn's own log lines in the app's shape (``logger_class`` in ``gunicorn.conf.py``).

With ``SIGNON_LOG_FORMAT`` json (the production default) gunicorn's error log (start,
workers booting, timeouts) and its access log are JSON lines with the app's fields
(``time``, ``level``, ``logger``, ``message``, ``request_id``: :mod:`signon.core.logs`),
and each access line carries its parts as fields of their own (``method``, ``path``,
``status``, ``bytes``, ``duration_ms``, ``remote_addr``, ``referer``, ``user_agent``), the
request id being the one the app returned in ``X-Request-ID``. With text, gunicorn's own
text lines, as configured in ``gunicorn.conf.py``.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from gunicorn import glogging

from signon.config import log_format_from_env
from signon.core.logs import formatter


def _atom(atoms: dict[str, Any], key: str) -> str | None:
    value = atoms.get(key)
    return None if value in (None, "-", "") else str(value)


class GunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, its handlers given the app's formatter when the format is JSON."""

    json = False

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.json = log_format_from_env() == "json"
        if not self.json:
            return
        shape = formatter("json")
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(shape)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.json:
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        status = _atom(atoms, "s")
        fields = {
            "method": _atom(atoms, "m"),
            "path": _atom(atoms, "U"),
            "query": _atom(atoms, "q"),
            "status": int(status) if status and status.isdigit() else status,
            "bytes": int(atoms["B"]) if isinstance(atoms.get("B"), int) else None,
            "duration_ms": int(atoms["M"]) if str(atoms.get("M", "")).isdigit() else None,
            "remote_addr": _atom(atoms, "h"),
            "referer": _atom(atoms, "f"),
            "user_agent": _atom(atoms, "a"),
            "request_id": _atom(atoms, "{x-request-id}o"),
        }
        request_id = fields.pop("request_id")
        try:
            if self.access_log.isEnabledFor(logging.INFO):
                record = self.access_log.makeRecord(
                    self.access_log.name,
                    logging.INFO,
                    __file__,
                    0,
                    "%s %s %s",
                    (fields["method"], fields["path"], fields["status"]),
                    None,
                    extra=fields,
                )
                # after the record is made: the app's record factory sets its own (none
                # here, the request being over); this one is the response's
                record.request_id = request_id
                self.access_log.handle(record)
        except Exception:
            self.error(traceback.format_exc())
