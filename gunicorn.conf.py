"""Gunicorn settings for Signon in production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Everything an operator changes comes from the environment (rows in docs/deploy.md);
gunicorn's own command-line flags still override any of it.

Worker class and count were chosen by measurement on a 2-core machine
(``benchmarks/gunicorn_workers.py``; figures in benchmarks/README.md, "gunicorn workers"):
**gthread, 2 workers x 4 threads** (``SIGNON_WEB_*`` to change them). Median of two
interleaved rounds, wrk 16 connections, a public letter of 200 names, rate limits in Redis,
each configuration against the bare one-INSERT app under the same settings in the same
run (4 Dec 2026, load average 11-19 from other sessions: noisy):

    config              Signon req/s  p99      bare req/s
    sync 2              38.7          853 ms   147.9
    sync 3              53.9          833 ms   203.6
    sync 4              22.3          3020 ms  85.0
    sync 5              19.1          3135 ms  225.2
    gthread 2 x4        140.5         465 ms   330.5
    gthread 3 x4        71.8          1092 ms  368.5
    gthread 4 x4        106.7         531 ms   286.4
    gthread 5 x4        63.2          3355 ms  313.9

gthread beat sync at every worker count (2.6-5.6 x), and 2 gthread workers (one per core)
were best in both rounds: a request spends much of its time waiting for PostgreSQL and
Redis, which the threads of one process overlap, while extra processes on 2 cores only
compete for them. On more cores, start at one worker per core and measure again.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Where to listen (``SIGNON_BIND``): ``host:port`` or ``unix:/run/signon/gunicorn.sock``.
bind = [os.environ.get("SIGNON_BIND", "127.0.0.1:8000")]

#: See the module docstring for why these defaults.
worker_class = os.environ.get("SIGNON_WEB_WORKER_CLASS", "gthread")
workers = int(os.environ.get("SIGNON_WEB_WORKERS", "2"))
threads = int(os.environ.get("SIGNON_WEB_THREADS", "4"))

#: A request taking longer than this is killed (the worker restarted): long work (PDF
#: exports, bundle imports of large letters) belongs in the job queue, not a request.
timeout = int(os.environ.get("SIGNON_WEB_TIMEOUT", "30"))
#: On SIGTERM, requests in flight get this long to finish.
graceful_timeout = 30
#: Behind a reverse proxy that keeps connections open (nginx ``keepalive``).
keepalive = 5

#: Each worker is replaced after about this many requests (the jitter staggers the
#: restarts so that the workers do not all restart at once): bounds slow leaks, e.g. in
#: WeasyPrint/Pango when a PDF is rendered in a web process (without SIGNON_REDIS_URL).
#: Not fewer: a replaced worker's place stays empty until the master's next round (0.7-1 s
#: measured, half the site with 2 workers) and its successor starts cold (its first
#: sign-on and reader cost 2.5 x the CPU of the next ones: templates, SQL compiled anew,
#: new database connections; ``benchmarks/load/serve_cpu.py``). At 1,000 the load test's
#: burst (about 75 requests/s per worker) replaced each worker every 13 s.
max_requests = 10000
max_requests_jitter = 1000

#: Load the app once in the master and fork the workers from it:
#: - a configuration error (no secret key, no SIGNON_BASE_URL) stops gunicorn at once
#:   with one clear message, instead of every worker failing to boot in turn;
#: - the workers share the app's code pages (copy-on-write), less memory per worker.
#: The cost: ``kill -HUP`` does not load new code (restart the service to deploy), and
#: nothing may open a connection before the fork: :func:`post_fork` drops the database
#: pool the master may hold, so every worker opens its own.
preload_app = True


#: Access log on stdout (systemd's journal); the request id (``X-Request-ID``, also in the
#: app's JSON logs) joins the two. %(M)s is the response time in milliseconds.
accesslog = os.environ.get("SIGNON_ACCESS_LOG", "-")
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)
errorlog = "-"
#: gunicorn's own lines (its error log and the access log) in the app's shape: JSON lines
#: with the app's fields (time, level, logger, message, request_id; the access line's parts
#: as fields of their own) when ``SIGNON_LOG_FORMAT`` is json, the production default;
#: the text above otherwise (signon/core/gunicorn_logs.py).
logger_class = "signon.core.gunicorn_logs.GunicornLogger"

#: No control socket (gunicorn >= 25 makes one at $XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl,
#: the same path for every master of the user: several app servers or sites on one host
#: would take it from each other). systemd's signals are the control interface here.
control_socket_disable = True
loglevel = os.environ.get("SIGNON_GUNICORN_LOG_LEVEL", "info")


def _trusted_proxies() -> int:
    raw = os.environ.get("SIGNON_TRUSTED_PROXIES", "").strip()
    return int(raw) if raw else 0


#: Who may say, through X-Forwarded-Proto, that the client used HTTPS. The app itself
#: (ProxyFix, ``SIGNON_TRUSTED_PROXIES``) decides about X-Forwarded-For and -Proto; gunicorn
#: follows the same rule: with no trusted proxy it believes no one (a client of the bare
#: port cannot claim https), with proxies it believes only their addresses
#: (``SIGNON_FORWARDED_ALLOW_IPS``, default the local proxy) and only that one header.
if _trusted_proxies() > 0:
    forwarded_allow_ips = os.environ.get("SIGNON_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
    secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
else:
    forwarded_allow_ips = ""
    secure_scheme_headers: dict[str, str] = {}  # type: ignore[no-redef]


def _is_signon(server: Any) -> bool:
    """The hooks below concern Signon (``wsgi:app``, ``signon:create_app()``), not the bare
    app the benchmarks serve with this file too (``benchmarks.load.bare:app``)."""
    return not str(getattr(server.app, "app_uri", "") or "").startswith("benchmarks.")


def on_starting(server: Any) -> None:
    """Refuse, in production, several workers that would each count rate limits alone."""
    if not _is_signon(server):
        return
    production = os.environ.get("SIGNON_ENV", "production") != "development"
    storage = os.environ.get("SIGNON_RATELIMIT_STORAGE_URL", "memory://")
    if production and storage.startswith("memory://") and server.cfg.workers > 1:
        sys.exit(
            "gunicorn.conf.py: SIGNON_RATELIMIT_STORAGE_URL is memory:// with "
            f"{server.cfg.workers} workers: each would count rate limits on its own. Set it "
            "to a Redis URL (e.g. redis://127.0.0.1:6379/0), or run one worker."
        )


def post_fork(server: Any, worker: Any) -> None:
    """A worker never uses a database connection opened by the master before the fork."""
    if not _is_signon(server):
        return
    from signon.extensions import db

    app = worker.app.wsgi()
    if hasattr(app, "app_context"):  # the Flask app itself, not a wrapper around it
        with app.app_context():
            db.engine.dispose(close=False)


def child_exit(server: Any, worker: Any) -> None:
    """Prometheus multiprocess mode: forget a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and _is_signon(server):
        from signon.core.metrics import mark_process_dead

        mark_process_dead(worker.pid)
