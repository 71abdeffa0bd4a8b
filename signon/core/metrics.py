"""Prometheus metrics: what the service does, counted where it happens; served at ``/metrics``.

Under gunicorn every worker is a process of its own: with ``PROMETHEUS_MULTIPROC_DIR``
set (to an empty folder, before the app is imported) each process writes its values
there and a scrape adds them up (prometheus-client's multiprocess mode); gunicorn's
``child_exit`` hook calls :func:`mark_process_dead`. Without it (``make run``, tests) the
process's own registry is served.

Counters of things a transaction does (sign-ons, approvals, exports) move only once it
is committed (:func:`count_after_commit`): a rolled-back request counts nothing. The
queue's depth and its failed jobs are read from Redis (RQ) at scrape time.

``/metrics`` answers only with ``SIGNON_METRICS_TOKEN`` (``Authorization: Bearer``)
and/or from an address in ``SIGNON_METRICS_ALLOWED_IPS``; otherwise, and when neither is
set, it is a 404, like any page that does not exist.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator

from flask import Flask, Request, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from signon.config import ConfigurationError, Settings
from signon.core.transaction import after_commit

log = logging.getLogger(__name__)

MULTIPROC_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "signon_http_request_duration_seconds",
    "Time to answer a request, by endpoint (the route's name, not the path), method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PUBLIC_SIGNONS = Counter(
    "signon_public_signons",
    "Public sign-ons: requests mailed a confirmation link (requested), and confirmed.",
    ["stage"],
)
APPROVALS = Counter(
    "signon_approvals", "Approvals of a text recorded, by where they came from.", ["source"]
)
EXPORTS = Counter(
    "signon_exports",
    "PDF exports: started, reused (unchanged letter), done, failed.",
    ["outcome"],
)
MAIL_SENT = Counter("signon_mail_sent", "E-mails the mail server accepted.")
MAIL_FAILED = Counter("signon_mail_failed", "Attempts to send an e-mail that failed.")
JOB_FAILURES = Counter(
    "signon_job_failures", "Background jobs that failed (each failed attempt).", ["kind"]
)


def count_after_commit(counter: Counter, **labels: str) -> None:
    """Add one to ``counter`` once the current unit of work is committed."""
    child = counter.labels(**labels) if labels else counter
    after_commit(child.inc)


def count_job_failure(kind: str) -> None:
    """For the job runner: one attempt of a job of ``kind`` failed."""
    JOB_FAILURES.labels(kind=kind).inc()


# --- Requests -----------------------------------------------------------------------------


def _start_timer() -> None:
    g._metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started: float | None = g.pop("_metrics_started", None)
    if started is not None:
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "(no route)"
        REQUEST_SECONDS.labels(
            endpoint=endpoint, method=request.method, status=str(response.status_code)
        ).observe(time.perf_counter() - started)
    return response


# --- Queue depth, read at scrape time ----------------------------------------------------------


def redis_url(settings: Settings) -> str:
    """The job queue's Redis (``SIGNON_REDIS_URL``), or "" when jobs run in-process."""
    return settings.redis_url


class QueueCollector(Collector):
    """Jobs waiting in each RQ queue, and failed jobs kept in each queue's failed registry."""

    def __init__(self, url: str) -> None:
        self.url = url

    def collect(self) -> Iterator[Metric]:
        from redis import Redis
        from rq import Queue
        from rq.registry import FailedJobRegistry

        depth = GaugeMetricFamily(
            "signon_queue_depth", "Jobs waiting in the queue.", labels=["queue"]
        )
        failed = GaugeMetricFamily(
            "signon_queue_failed_jobs",
            "Failed jobs kept in the queue's registry.",
            labels=["queue"],
        )
        up = GaugeMetricFamily("signon_queue_up", "1 when the queue's Redis answered the scrape.")
        connection = Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        try:
            for queue in Queue.all(connection=connection):
                depth.add_metric([queue.name], queue.count)
                failed.add_metric([queue.name], FailedJobRegistry(queue=queue).count)
        except Exception as error:  # the page must still show everything else
            log.warning("queue depth not read from Redis: %s", error)
            up.add_metric([], 0)
            yield up
            return
        finally:
            connection.close()
        up.add_metric([], 1)
        yield from (depth, failed, up)


# --- The page ----------------------------------------------------------------------------------


def exposition(settings: Settings) -> bytes:
    """The page: every process's values in multiprocess mode (else this process's), then
    the queue's, read now."""
    if os.environ.get(MULTIPROC_DIR_VAR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    output = generate_latest(registry)
    url = redis_url(settings)
    if url:
        queue = CollectorRegistry()
        queue.register(QueueCollector(url))
        output += generate_latest(queue)
    return output


def allowed(settings: Settings, incoming: Request) -> bool:
    """Whether this request may read the metrics (see the module's docstring)."""
    token = settings.metrics_token
    networks = settings.metrics_allowed_ips
    if not token and not networks:
        return False
    if token:
        given = incoming.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return False
    if networks:
        try:
            address = ipaddress.ip_address(incoming.remote_addr or "")
        except ValueError:
            return False
        if not any(address in ipaddress.ip_network(n, strict=False) for n in networks):
            return False
    return True


def metrics_response() -> Response:
    settings: Settings = current_app.config["SIGNON"]
    response = Response(exposition(settings), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def mark_process_dead(pid: int) -> None:
    """For gunicorn's ``child_exit`` hook: forget a dead worker's live gauges."""
    if os.environ.get(MULTIPROC_DIR_VAR):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def init_app(app: Flask) -> None:
    settings: Settings = app.config["SIGNON"]
    for network in settings.metrics_allowed_ips:  # a typo stops the start, not every scrape
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as error:
            raise ConfigurationError(
                f"SIGNON_METRICS_ALLOWED_IPS: {network!r} is not an address or network ({error})."
            ) from None
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe)
