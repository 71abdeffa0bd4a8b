"""Background jobs (``signon/core/jobs.py``): rows, after-commit start, failures, the sweep,
the thread backend, and RQ for real (a ``flask worker`` subprocess on Redis DB 1, killed
with SIGKILL mid-job)."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import select

import tests.core.job_kinds as kinds
from signon import create_app
from signon.core import jobs, transaction
from signon.core.jobs import BackgroundJob, JobState
from signon.db import utcnow
from signon.extensions import db
from tests.accounts.factories import make_user
from tests.conftest import burst, make_settings
from tests.letters.factories import make_letter
from tests.redis_urls import redis_db
from tests.smtp import MailCatcher

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_URL = redis_db(1)


@pytest.fixture(autouse=True)
def _forget_failures() -> None:
    kinds.failures.clear()


def _job_failures(kind: str) -> float:
    return REGISTRY.get_sample_value("signon_job_failures_total", {"kind": kind}) or 0.0


def _row(job_id: int) -> BackgroundJob:
    db.session.expire_all()
    row = db.session.get(BackgroundJob, job_id)
    assert row is not None
    return row


# --- synchronous (the tests' backend) ----------------------------------------------------------


@pytest.mark.usefixtures("app_context")
def test_a_job_runs_after_the_commit_and_records_its_progress(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user()
    letter = make_letter(user)
    marker = tmp_path / "done"
    row = jobs.enqueue(
        "test.count",
        letter_id=letter.id,
        started_by_id=user.id,
        request_id="req-123",
        steps=4,
        marker=str(marker),
    )
    assert row.state == JobState.QUEUED and row.id is not None
    assert not marker.exists()  # nothing before the commit
    with caplog.at_level(logging.INFO, logger="signon.core.jobs"):
        transaction.commit()
    assert marker.read_text() == f"{row.id}:1"
    started = [r for r in caplog.records if "attempt 1 started" in r.getMessage()]
    assert [getattr(r, "request_id", None) for r in started] == ["req-123"]
    done = _row(row.id)
    assert (done.state, done.progress, done.attempts) == (JobState.DONE, 100, 1)
    assert done.request_id == "req-123" and done.started_by_id == user.id
    assert done.started_at and done.finished_at and done.heartbeat_at
    assert jobs.jobs_of(letter.id) == [done]


@pytest.mark.usefixtures("app_context")
def test_a_rolled_back_unit_of_work_starts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "done"
    jobs.enqueue("test.count", steps=1, marker=str(marker))
    transaction.rollback()
    transaction.commit()
    assert not marker.exists()
    assert db.session.scalars(select(BackgroundJob)).all() == []


@pytest.mark.usefixtures("app_context")
def test_a_failing_job_is_failed_with_its_reason_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    row = jobs.enqueue("test.broken")
    with caplog.at_level(logging.ERROR, logger="signon.core.jobs"):
        transaction.commit()
    failed = _row(row.id)
    assert failed.state == JobState.FAILED
    assert failed.error == "Attempt 1: the test job always fails."
    assert failed.finished_at is not None
    assert kinds.failures == [("test.broken", row.id, "failed", failed.error)]
    assert any("failed for good" in r.getMessage() for r in caplog.records)


@pytest.mark.usefixtures("app_context")
def test_an_unexpected_error_names_its_type_not_its_details() -> None:
    row = jobs.enqueue("test.flaky")  # its first attempt raises RuntimeError
    transaction.commit()
    failed = _row(row.id)
    assert failed.state == JobState.FAILED
    assert "RuntimeError" in (failed.error or "") and "first attempt" not in (failed.error or "")


@pytest.mark.usefixtures("app_context")
def test_an_unknown_kind_is_refused_in_the_caller() -> None:
    with pytest.raises(LookupError):
        jobs.enqueue("test.no-such-kind")


# --- the sweep ---------------------------------------------------------------------------------


def _running(kind: str, heartbeat_age: timedelta) -> BackgroundJob:
    now = utcnow()
    row = BackgroundJob(
        kind=kind,
        state=JobState.RUNNING,
        progress=30,
        attempts=1,
        queued_at=now - heartbeat_age,
        started_at=now - heartbeat_age,
        heartbeat_at=now - heartbeat_age,
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.mark.usefixtures("app_context")
def test_the_sweep_fails_running_jobs_whose_heartbeat_stopped(app: Flask) -> None:
    stale_after = timedelta(seconds=app.config["SIGNON"].job_stale_seconds)
    silent = _running("test.count", stale_after + timedelta(seconds=5))
    alive = _running("test.count", stale_after - timedelta(seconds=30))
    failures_before = _job_failures("test.count")
    assert jobs.sweep_stale_jobs() == 1
    transaction.commit()
    assert _job_failures("test.count") == failures_before + 1  # in the metric too
    assert silent.state == JobState.FAILED and "worker running it stopped" in (silent.error or "")
    minutes = int((stale_after + timedelta(seconds=5)).total_seconds() // 60)
    # how long, not a UTC time read in every reader's zone (issue 12 item 8)
    assert f"no sign of life for {minutes} minute" in (silent.error or ""), silent.error
    assert "UTC" not in (silent.error or "")
    assert alive.state == JobState.RUNNING
    assert kinds.failures == [("test.count", silent.id, "failed", silent.error)]
    assert jobs.sweep_stale_jobs() == 0  # idempotent


# --- threads (``make run``: no Redis) ------------------------------------------------------------


@pytest.fixture
def thread_app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    return create_app(
        make_settings(database_url, mail_catcher, jobs_synchronous=False, job_heartbeat_seconds=1)
    )


@pytest.mark.real_commits
def test_without_redis_a_job_runs_in_a_thread_of_the_process(
    thread_app: Flask, tmp_path: Path
) -> None:
    marker = tmp_path / "done"
    with thread_app.app_context():
        assert jobs.backend_name() == "thread"
        row = jobs.enqueue("test.count", steps=3, marker=str(marker))
        job_id = row.id
        transaction.commit()
        jobs.wait_for_threads(30)
        assert marker.read_text() == f"{job_id}:1"
        assert _row(job_id).state == JobState.DONE
        db.session.remove()


@pytest.mark.real_commits
def test_a_job_sees_what_its_starter_committed(thread_app: Flask, tmp_path: Path) -> None:
    marker = tmp_path / "seen"
    with thread_app.app_context():
        user = make_user()
        jobs.enqueue("test.sees", user_id=user.id, marker=str(marker))
        time.sleep(0.2)
        assert not marker.exists()  # not started before the commit
        transaction.commit()
        jobs.wait_for_threads(30)
        assert marker.read_text() == "yes"
        db.session.remove()


@pytest.mark.real_commits
def test_the_thread_backend_retries_with_the_jobs_back_off(
    thread_app: Flask, tmp_path: Path
) -> None:
    """``make run`` (no Redis) retries like RQ: the same intervals, then done or failed."""
    marker = tmp_path / "succeeded"
    with thread_app.app_context():
        retried = jobs.enqueue("test.flaky_twice", marker=str(marker)).id
        broken = jobs.enqueue("test.broken").id
        transaction.commit()
        jobs.wait_for_threads(30)
        assert marker.read_text() == "3"
        done, failed = _row(retried), _row(broken)
        assert (done.state, done.attempts, done.error) == (JobState.DONE, 3, None)
        assert (failed.state, failed.attempts) == (JobState.FAILED, 3)
        assert failed.error == "Attempt 3: the test job always fails."
        db.session.remove()


# --- RQ for real ---------------------------------------------------------------------------------


@pytest.mark.real_commits
def test_rq_retries_a_failing_job_and_it_succeeds(
    rq_setup: tuple[Flask, Callable[..., subprocess.Popen[bytes]]],
) -> None:
    app, start_worker = rq_setup
    with app.app_context():
        assert jobs.backend_name() == "rq"
        row = jobs.enqueue("test.flaky")
        job_id = row.id
        transaction.commit()
        assert jobs.rq_queue().count == 1
        burst(start_worker)
        done = _row(job_id)
        assert (done.state, done.attempts, done.error) == (JobState.DONE, 2, None)
        db.session.remove()


@pytest.mark.real_commits
def test_rq_fails_a_job_for_good_after_its_last_attempt(
    rq_setup: tuple[Flask, Callable[..., subprocess.Popen[bytes]]],
) -> None:
    app, start_worker = rq_setup
    with app.app_context():
        row = jobs.enqueue("test.broken")
        job_id = row.id
        transaction.commit()
        output = burst(start_worker)
        failed = _row(job_id)
        assert failed.state == JobState.FAILED and failed.attempts == 3
        assert failed.error == "Attempt 3: the test job always fails."
        assert "failed for good" in output  # logged by the worker
        db.session.remove()


def _beating(job_id: int) -> bool:
    """Whether the job's heartbeat moved since it started (the read ends at once: on SQLite
    every transaction holds the write lock, which the worker's heartbeat needs)."""
    row = _row(job_id)
    beating = row.heartbeat_at is not None and row.started_at is not None
    beating = beating and row.heartbeat_at > row.started_at  # type: ignore[operator]
    transaction.rollback()
    return beating


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.real_commits
def test_a_worker_killed_mid_job_leaves_it_failed_then_rq_retries_it_to_done(
    rq_setup: tuple[Flask, Callable[..., subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    from rq.registry import StartedJobRegistry

    app, start_worker = rq_setup
    started, release = tmp_path / "started", tmp_path / "release"
    with app.app_context():
        row = jobs.enqueue("test.slow", started=str(started), release=str(release))
        job_id = row.id
        transaction.commit()
        worker = start_worker()
        _wait_for(started.exists)
        _wait_for(lambda: _beating(job_id))
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        assert _row(job_id).state == JobState.RUNNING  # nobody has noticed yet
        transaction.rollback()
        time.sleep(app.config["SIGNON"].job_stale_seconds + 1)
        assert jobs.sweep_stale_jobs() == 1
        transaction.commit()
        swept = _row(job_id)
        assert swept.state == JobState.FAILED and "worker running it stopped" in (swept.error or "")
        assert [f[:3] for f in kinds.failures] == [("test.slow", job_id, "failed")]
        transaction.rollback()  # SQLite: let the failure callback's own session write
        # RQ's abandoned-job handling (what a live worker's maintenance runs): retried
        registry = StartedJobRegistry(queue=jobs.rq_queue())
        registry.cleanup(timestamp=time.time() + 10 * 24 * 3600)
        assert _row(job_id).state == JobState.QUEUED
        transaction.rollback()
        release.write_text("go")
        burst(start_worker)
        done = _row(job_id)
        assert (done.state, done.attempts, done.error) == (JobState.DONE, 2, None)
        assert started.read_text() == "2"
        db.session.remove()


# --- the scheduler's tasks ----------------------------------------------------------------------


@pytest.mark.real_commits
def test_the_scheduler_knows_its_tasks_and_runs_each_once(app: Flask) -> None:
    with app.app_context():
        stale = _running("test.count", timedelta(hours=1))
        job_id = stale.id
        transaction.commit()
        db.session.remove()
    assert {(t.name, t.every_seconds) for t in jobs.periodic_tasks()} == {
        ("audit-checkpoints", 60),
        ("live-autosave", 30),
        ("prerender-pdf-pieces", 60),
        ("prune-pdf-pieces", 86400),
        ("refresh-letter-counts", 2),
        ("seal-audit", 5),
        ("send-digests", 3600),
        ("send-mail", 300),
        ("send-reminders", 300),
        ("sweep-stale-jobs", 60),
    }
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _row(job_id).state == JobState.FAILED  # the sweep ran
        db.session.remove()


def test_the_worker_refuses_to_start_without_redis(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "SIGNON_REDIS_URL is not set" in result.output
