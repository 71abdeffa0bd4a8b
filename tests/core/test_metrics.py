"""Issue 11 item 4: Prometheus metrics at ``/metrics``, for the scraper only.

The counters move when the thing happens (and only once it is committed); the page is
a 404 to anyone without the token or outside the allowed addresses; the values of two
real processes writing to one ``PROMETHEUS_MULTIPROC_DIR`` are added up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from signon import create_app
from signon.config import ConfigurationError
from signon.core import jobs, transaction
from signon.exports.pdf import operations as pdf_operations
from signon.extensions import db
from signon.signatures.public_signon import operations as public_ops
from tests.conftest import make_settings
from tests.exports.factories import demo_letter
from tests.redis_urls import redis_db
from tests.signatures.factories import ask, make_public_letter, refusing_mail_server
from tests.smtp import MailCatcher

TOKEN = "scraper-token-0123456789abcdef"
REDIS_DB = redis_db(3)


def value(name: str, **labels: str) -> float:
    """This process's current value of a sample (0 when it was never counted)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def make_app(database_url: str, mail_catcher: MailCatcher) -> Iterator[object]:
    def build(**overrides: object) -> Flask:
        return create_app(make_settings(database_url, mail_catcher, **overrides))

    yield build


# --- Who may read them --------------------------------------------------------------------


def test_without_a_token_or_addresses_the_page_does_not_exist(client: object) -> None:
    response = client.get("/metrics")  # type: ignore[attr-defined]
    assert response.status_code == 404


def test_the_token_is_required_when_set(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(metrics_token=TOKEN).test_client()
    assert client.get("/metrics").status_code == 404
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/metrics", headers=wrong).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert "signon_http_request_duration_seconds_bucket" in response.text


def test_the_allowed_addresses_are_required_when_set(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(metrics_allowed_ips=("10.0.0.0/8", "192.0.2.5")).test_client()
    assert client.get("/metrics").status_code == 404  # from 127.0.0.1
    for address in ("10.1.2.3", "192.0.2.5"):
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 200, address
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.6"}).status_code == 404


def test_with_both_set_both_are_required(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(metrics_token=TOKEN, metrics_allowed_ips=("10.0.0.0/8",)).test_client()
    inside = {"REMOTE_ADDR": "10.1.2.3"}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/metrics", environ_base=inside).status_code == 404
    assert client.get("/metrics", headers=bearer).status_code == 404
    assert client.get("/metrics", headers=bearer, environ_base=inside).status_code == 200


def test_a_malformed_address_stops_the_start(make_app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match="SIGNON_METRICS_ALLOWED_IPS"):
        make_app(metrics_allowed_ips=("10.0.0.300",))


# --- What they count -----------------------------------------------------------------------


def test_requests_are_counted_by_endpoint_and_status(client: object) -> None:
    home = {"endpoint": "core.home", "method": "GET", "status": "200"}
    missing = {"endpoint": "(no route)", "method": "GET", "status": "404"}
    before = value("signon_http_request_duration_seconds_count", **home)
    before_missing = value("signon_http_request_duration_seconds_count", **missing)
    client.get("/")  # type: ignore[attr-defined]
    client.get("/")  # type: ignore[attr-defined]
    client.get("/no/such/page/here")  # type: ignore[attr-defined]
    assert value("signon_http_request_duration_seconds_count", **home) == before + 2
    assert value("signon_http_request_duration_seconds_count", **missing) == before_missing + 1
    assert value("signon_http_request_duration_seconds_sum", **home) > 0


@pytest.mark.usefixtures("app_context", "outbox")
def test_sign_ons_approvals_and_mail_count_once_committed() -> None:
    letter = make_public_letter()
    transaction.commit()
    requested = value("signon_public_signons_total", stage="requested")
    confirmed = value("signon_public_signons_total", stage="confirmed")
    approvals = value("signon_approvals_total", source="public")
    sent = value("signon_mail_sent_total")

    ask(letter, name="Rolled Back Org", email="gone@example.org")
    transaction.rollback()
    assert value("signon_public_signons_total", stage="requested") == requested

    result = ask(letter)
    assert value("signon_public_signons_total", stage="requested") == requested  # not yet
    transaction.commit()
    assert value("signon_public_signons_total", stage="requested") == requested + 1
    assert value("signon_mail_sent_total") == sent + 1
    assert result.request is not None
    public_ops.confirm_public_request(result.request, letter.head())
    transaction.commit()
    assert value("signon_public_signons_total", stage="confirmed") == confirmed + 1
    assert value("signon_approvals_total", source="public") == approvals + 1
    assert value("signon_mail_sent_total") == sent + 2


@pytest.mark.usefixtures("app_context")
def test_refused_mail_is_counted_as_failed(app: Flask) -> None:
    letter = make_public_letter()
    failed = value("signon_mail_failed_total")
    sent = value("signon_mail_sent_total")
    with refusing_mail_server(app):
        ask(letter, email="refuse-me@example.org")
        transaction.commit()
    assert value("signon_mail_failed_total") == failed + 1
    assert value("signon_mail_sent_total") == sent


@pytest.mark.usefixtures("app_context")
def test_exports_are_counted_started_done_and_reused() -> None:
    letter = demo_letter()
    before = {o: value("signon_exports_total", outcome=o) for o in ("started", "done", "reused")}
    pdf_operations.export_pdf(letter, None, actor_label="test")
    transaction.commit()
    pdf_operations.export_pdf(letter, None, actor_label="test")
    transaction.commit()
    after = {o: value("signon_exports_total", outcome=o) for o in ("started", "done", "reused")}
    assert {o: after[o] - before[o] for o in after} == {"started": 1, "done": 1, "reused": 1}


# --- The queue, read at scrape time -----------------------------------------------------------


@pytest.fixture
def queue() -> Iterator[Queue]:
    connection = redis.Redis.from_url(REDIS_DB)
    queue = Queue(f"signon-ops-test-{uuid.uuid4().hex[:8]}", connection=connection)
    try:
        yield queue
    finally:
        queue.delete(delete_jobs=True)
        connection.close()


def test_the_queue_depth_is_read_from_redis_at_scrape_time(make_app, queue: Queue) -> None:  # type: ignore[no-untyped-def]
    client = make_app(metrics_token=TOKEN, redis_url=REDIS_DB).test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    depth = ("signon_queue_depth", (("queue", queue.name),))
    for _ in range(3):
        queue.enqueue("os.getcwd")
    assert scraped(client.get("/metrics", headers=bearer).text)[depth] == 3
    queue.enqueue("os.getcwd")
    samples = scraped(client.get("/metrics", headers=bearer).text)
    assert samples[depth] == 4
    assert samples[("signon_queue_failed_jobs", (("queue", queue.name),))] == 0
    assert samples[("signon_queue_up", ())] == 1


def test_an_unreachable_queue_is_reported_not_fatal(make_app) -> None:  # type: ignore[no-untyped-def]
    from tests.smtp import _free_port

    dead = f"redis://127.0.0.1:{_free_port()}/0"
    client = make_app(metrics_token=TOKEN, redis_url=dead).test_client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    samples = scraped(response.text)
    assert samples[("signon_queue_up", ())] == 0
    assert any(name == "signon_http_request_duration_seconds_count" for name, _ in samples)


# --- Several processes ---------------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys
    from signon import create_app
    from signon.config import Settings

    app = create_app(Settings(
        secret_key="multiprocess-test-key-0123456789abcdef",
        database_url=sys.argv[1],
        testing=True,
        base_url="http://localhost",
        ratelimit_enabled=False,
    ))
    client = app.test_client()
    for _ in range(int(sys.argv[2])):
        assert client.get("/").status_code == 200
    """
)


def test_two_processes_values_are_added_up(
    make_app,  # type: ignore[no-untyped-def]
    database_url: str,
    project_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, database_url, str(count)], cwd=project_root, env=env
        )
        for count in (3, 5)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    assert len(list(folder.glob("*.db"))) >= 2  # each process wrote files of its own

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    client = make_app(metrics_token=TOKEN).test_client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    labels = (("endpoint", "core.home"), ("method", "GET"), ("status", "200"))
    assert scraped(response.text)[("signon_http_request_duration_seconds_count", labels)] == 8


@jobs.job("ops-test-always-fails", label="Failing on purpose", retries=())
def _always_fails(running: jobs.RunningJob) -> None:
    raise jobs.JobError("It fails on purpose.")


@pytest.mark.usefixtures("app_context")
def test_a_failed_job_is_counted_by_kind() -> None:
    before = value("signon_job_failures_total", kind="ops-test-always-fails")
    row = jobs.enqueue("ops-test-always-fails")
    transaction.commit()  # the tests' jobs run synchronously, at the commit
    db.session.refresh(row)
    assert row.state == jobs.JobState.FAILED
    assert value("signon_job_failures_total", kind="ops-test-always-fails") == before + 1
