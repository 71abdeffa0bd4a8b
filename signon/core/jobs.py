"""Background jobs: the one way to run work that must not block, or die with, a web request.

A feature registers its job functions by name (:func:`job`), the way the audit verifier's
record checks are registered, so that ``core`` never imports a feature. An operation calls
:func:`enqueue` inside its unit of work: it adds a :class:`BackgroundJob` row (what the
coordinator sees: queued, running with progress, done, failed with the reason) and hands
the job to a backend only after the commit (:func:`signon.core.transaction.after_commit`),
so a job never sees uncommitted data and a rolled-back request starts nothing.

Backends, chosen by the settings:

- ``SIGNON_REDIS_URL`` set: RQ queues on that Redis, run by ``flask worker``. Each job is
  retried with back-off (:data:`RETRY_INTERVALS`); when the last attempt fails, the row
  says failed with the reason and the failure is logged. A worker killed mid-job stops
  writing the row's heartbeat: :func:`sweep_stale_jobs` (every minute, ``flask
  scheduler``) marks it failed, and RQ's own abandoned-job handling retries it.
- no Redis: a thread per job in the process that started it (``make run``, zero setup),
  retried with the same back-off as under RQ (the thread sleeps the wait, then tries
  again); a process that stops mid-job leaves a stale heartbeat, swept the same way (a
  job waiting for its retry in a process that stopped is swept as lost).
- ``jobs_synchronous`` (the tests): at once, in the caller, after the commit.

Periodic work (reminders, mail retries, the sweep) is registered with :func:`periodic` and
run by ``flask scheduler`` (``signon/core/job_commands.py``), so no cron is needed.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from signon.config import Settings
from signon.core import transaction
from signon.core.metrics import JOB_FAILURES, count_after_commit, count_job_failure
from signon.core.request_id import bound
from signon.core.request_id import current as current_request_id
from signon.db import Base, enum_column, utcnow
from signon.extensions import db

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue
    from rq.job import Job as RqJob

log = logging.getLogger(__name__)

#: Attempts after the first one, and the wait before each (seconds): 3 retries, 10/60/300 s.
RETRY_INTERVALS: tuple[int, ...] = (10, 60, 300)
#: A job may run this long (seconds) before RQ stops it (a PDF of 20,000 names takes minutes).
DEFAULT_TIMEOUT = 30 * 60
#: Failure reasons are cut to this length (the column is text; the page shows them whole).
REASON_MAX = 1000


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BackgroundJob(Base):
    """One piece of background work, as the person who started it sees it."""

    __tablename__ = "jobs"
    __table_args__ = (
        # the sweep looks for running jobs whose heartbeat is old
        Index("ix_jobs_state_heartbeat_at", "state", "heartbeat_at"),
        Index("ix_jobs_letter_id_id", "letter_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The registered name of the job function (:func:`job`), e.g. ``export.pdf``.
    kind: Mapped[str] = mapped_column(String(80))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    #: Who started it (``None``: the system, a command).
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The feature's own record the job works on, when it has one (an export record's id).
    target_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[JobState] = mapped_column(enum_column(JobState, 16), default=JobState.QUEUED)
    #: Percent, 0-100, as the job reports it.
    progress: Mapped[int] = mapped_column(Integer, default=0)
    #: Why the last attempt failed, in words for the coordinator.
    error: Mapped[str | None] = mapped_column(Text)
    #: Attempts started so far (a retry or a re-run after a killed worker counts).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    #: Written every ``job_heartbeat_seconds`` while the job runs.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: The request that started it (carried into the job's logs).
    request_id: Mapped[str | None] = mapped_column(String(64))

    @property
    def active(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.RUNNING)

    @property
    def label(self) -> str:
        """What it does, in words (the registered label)."""
        spec = _registry.get(self.kind)
        return spec.label if spec is not None else self.kind

    def __repr__(self) -> str:
        return f"<BackgroundJob {self.id} {self.kind} {self.state.value} {self.progress}%>"


# --- The registry ----------------------------------------------------------------------------


class JobError(Exception):
    """Raised by a job function: the job failed, and the message says why (for people)."""


@dataclass(frozen=True)
class RunningJob:
    """What a job function receives first: its row's id and a way to report progress."""

    id: int
    attempt: int

    def progress(self, percent: int) -> None:
        """Record ``percent`` (and a heartbeat). Commits the job's session: call it between
        units of work, never with changes pending that must not be committed yet."""
        db.session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == self.id)
            .values(progress=max(0, min(100, percent)), heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        transaction.commit()


JobFunction = Callable[..., None]
FailureHook = Callable[[BackgroundJob], None]


@dataclass(frozen=True)
class JobSpec:
    kind: str
    #: What the job does, in words for the coordinator ("Making the PDF").
    label: str
    function: JobFunction
    timeout: int
    retries: tuple[int, ...]
    on_failure: FailureHook | None


_registry: dict[str, JobSpec] = {}


def job(
    kind: str,
    *,
    label: str = "",
    timeout: int = DEFAULT_TIMEOUT,
    retries: tuple[int, ...] = RETRY_INTERVALS,
    on_failure: FailureHook | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register ``function(running: RunningJob, **kwargs)`` as the job ``kind``.

    ``on_failure(row)`` runs in the transaction that marks the row failed for good (the
    last attempt failed, or the sweep found its worker gone), so that the feature's own
    record (an export record) says so too. ``retries``: the waits before each retry
    (RQ only; ``()`` for none).
    """

    def register(function: JobFunction) -> JobFunction:
        _registry[kind] = JobSpec(kind, label or kind, function, timeout, retries, on_failure)
        return function

    return register


def registered(kind: str) -> JobSpec:
    try:
        return _registry[kind]
    except KeyError:
        raise LookupError(f"No background job is registered as {kind!r}.") from None


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every_seconds: int
    function: Callable[[], object]


_periodic: dict[str, PeriodicTask] = {}


def periodic(
    name: str, every_seconds: int
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register ``function()`` to run every ``every_seconds`` under ``flask scheduler``.

    It must be idempotent when two runs overlap (two schedulers, or a slow run): it runs
    as one unit of work, committed when it returns.
    """

    def register(function: Callable[[], object]) -> Callable[[], object]:
        _periodic[name] = PeriodicTask(name, every_seconds, function)
        return function

    return register


def periodic_tasks() -> list[PeriodicTask]:
    return sorted(_periodic.values(), key=lambda task: task.name)


_worker_start: list[Callable[[], None]] = []


def at_worker_start(callback: Callable[[], None]) -> None:
    """Run ``callback`` when ``flask worker`` starts (e.g. start the PDF rendering pool)."""
    _worker_start.append(callback)


def run_worker_start_hooks() -> None:
    for callback in _worker_start:
        callback()


# --- Enqueueing ------------------------------------------------------------------------------


def settings() -> Settings:
    found: Settings = current_app.config["SIGNON"]
    return found


def backend_name(config: Settings | None = None) -> str:
    """``synchronous``, ``rq`` or ``thread``: where jobs run with these settings."""
    config = config or settings()
    if config.jobs_synchronous:
        return "synchronous"
    return "rq" if config.redis_url else "thread"


def uses_worker() -> bool:
    """Whether jobs run in ``flask worker`` processes (Redis configured), not in this one."""
    return backend_name() == "rq"


def enqueue(
    kind: str,
    *,
    letter_id: int | None = None,
    started_by_id: int | None = None,
    target_id: int | None = None,
    request_id: str | None = None,
    **kwargs: Any,
) -> BackgroundJob:
    """Record the job ``kind`` (add and flush) and start it once the unit of work commits.

    ``kwargs`` are the job function's arguments: plain values (RQ pickles them).
    """
    registered(kind)  # fail now, in the request, on a typo
    if request_id is None:
        request_id = current_request_id()
    row = BackgroundJob(
        kind=kind,
        letter_id=letter_id,
        started_by_id=started_by_id,
        target_id=target_id,
        request_id=request_id,
        state=JobState.QUEUED,
        progress=0,
        attempts=0,
        queued_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    job_id = row.id
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    transaction.after_commit(lambda: submit(app, job_id, kind, dict(kwargs)))
    return row


def submit(app: Flask, job_id: int, kind: str, kwargs: Mapping[str, Any]) -> None:
    """Hand a committed job to the backend; if that fails, the row says so (never lost)."""
    name = backend_name(app.config["SIGNON"])
    try:
        if name == "synchronous":  # in the caller's context and session (the tests)
            _run_attempt(job_id, kind, dict(kwargs))
        elif name == "rq":
            _submit_to_rq(app, job_id, kind, kwargs)
        else:
            _start_thread(app, job_id, kind, kwargs)
    except Exception as error:
        log.exception("background job %s (%s) could not be queued", job_id, kind)
        _fail_outside(
            app, job_id, f"It could not be queued ({type(error).__name__}). Please try again."
        )


def _fail_outside(app: Flask, job_id: int, reason: str) -> None:
    """Mark a job failed in a unit of work of its own (its starter's is already committed)."""
    with app.app_context():
        try:
            row = db.session.get(BackgroundJob, job_id)
            if row is not None and row.state != JobState.DONE:
                _mark_failed(row, reason)
                transaction.commit()
        except Exception:
            log.exception("background job %s: its failure could not be recorded", job_id)
            transaction.rollback()
        finally:
            db.session.remove()


# --- Running ---------------------------------------------------------------------------------


def run_job(job_id: int, kind: str, kwargs: dict[str, Any]) -> None:
    """Run one attempt of a job: what RQ calls (by this name) in ``flask worker``.

    The worker's app context must be there (``flask worker`` pushes it).
    """
    app = _job_app()
    _run_in(app, job_id, kind, kwargs)


def _run_in(app: Flask, job_id: int, kind: str, kwargs: dict[str, Any]) -> int | None:
    """One attempt in an application context of its own (a fresh ``g`` and session).
    Returns the seconds to wait before the next attempt (thread backend), or None."""
    with app.app_context():
        try:
            return _run_attempt(job_id, kind, kwargs)
        finally:
            db.session.remove()


def _job_app() -> Flask:
    """The app of the process running jobs: ``flask worker`` (or a test) has pushed it."""
    if not has_app_context():
        raise RuntimeError("Run Signon's jobs with `flask --app signon worker`, not `rq worker`.")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _run_attempt(job_id: int, kind: str, kwargs: dict[str, Any]) -> int | None:
    """One attempt, its log records carrying the id of the request that started it."""
    request_id = db.session.scalar(
        select(BackgroundJob.request_id).where(BackgroundJob.id == job_id)
    )
    with bound(request_id or current_request_id()):
        return _attempt(job_id, kind, kwargs)


def _attempt(job_id: int, kind: str, kwargs: dict[str, Any]) -> int | None:
    """Run the job once. A failure is recorded; under RQ it is raised again (RQ retries);
    otherwise the seconds before the next attempt are returned (None: no retry)."""
    spec = registered(kind)
    row = db.session.get(BackgroundJob, job_id)
    if row is None:
        log.warning("background job %s (%s) has no row: not run", job_id, kind)
        return None
    if row.state == JobState.DONE:
        log.info("background job %s (%s) is already done: not run again", job_id, kind)
        return None
    now = utcnow()
    row.state = JobState.RUNNING
    row.attempts += 1
    row.started_at = now
    row.heartbeat_at = now
    row.finished_at = None
    attempt = row.attempts
    transaction.commit()
    log.info("background job %s (%s) attempt %s started", job_id, kind, attempt)
    heartbeat = None if settings().jobs_synchronous else _Heartbeat(job_id)
    try:
        spec.function(RunningJob(job_id, attempt), **kwargs)
        transaction.commit()
    except Exception as error:
        transaction.rollback()
        wait = _attempt_failed(job_id, kind, attempt, error)
        if backend_name() == "rq":
            raise  # RQ records it and retries it (with back-off) if attempts are left
        return wait
    finally:
        if heartbeat is not None:
            heartbeat.stop()
    done = db.session.get(BackgroundJob, job_id)
    if done is not None:
        done.state = JobState.DONE
        done.progress = 100
        done.error = None
        done.finished_at = utcnow()
        transaction.commit()
    log.info("background job %s (%s) done", job_id, kind)
    return None


def reason_for(error: BaseException) -> str:
    if isinstance(error, JobError):
        return str(error)[:REASON_MAX]
    from rq.timeouts import JobTimeoutException

    if isinstance(error, JobTimeoutException):
        return "It took longer than its time limit and was stopped."
    return (
        f"It stopped with an unexpected error ({type(error).__name__}); the site's "
        "administrators find the details in the log."
    )


def _retry_wait(kind: str, attempt: int) -> int | None:
    """Seconds until the job is tried again, or ``None`` if this was its last attempt: RQ's
    own count under RQ; the same intervals (the job's ``retries``) in a thread; no retry
    when synchronous (the tests run one attempt in the caller)."""
    name = backend_name()
    if name == "thread":
        retries = registered(kind).retries
        return retries[attempt - 1] if attempt <= len(retries) else None
    if name != "rq":
        return None
    from rq import get_current_job

    current = get_current_job()
    if current is None or not current.should_retry:
        return None
    return int(current.get_retry_interval())


def _attempt_failed(job_id: int, kind: str, attempt: int, error: BaseException) -> int | None:
    """Record the failed attempt (queued again, or failed for good); returns the wait
    before the next attempt, or None."""
    count_job_failure(kind)
    reason = reason_for(error)
    wait = _retry_wait(kind, attempt)
    row = db.session.get(BackgroundJob, job_id)
    if wait is None:
        log.error(
            "background job %s (%s) failed for good after attempt %s: %s",
            job_id,
            kind,
            attempt,
            reason,
            exc_info=error,
        )
        if row is not None:
            _mark_failed(row, reason)
    else:
        log.warning(
            "background job %s (%s) attempt %s failed, retried in %s s: %s",
            job_id,
            kind,
            attempt,
            wait,
            reason,
            exc_info=error,
        )
        if row is not None:
            row.state = JobState.QUEUED
            row.error = f"Attempt {attempt} failed: {reason} It is tried again in {wait} s."
    transaction.commit()
    return wait


def _mark_failed(row: BackgroundJob, reason: str) -> None:
    """The row fails for good; the feature's hook updates its own record (same transaction)."""
    row.state = JobState.FAILED
    row.error = reason[:REASON_MAX]
    row.finished_at = utcnow()
    db.session.flush()
    spec = _registry.get(row.kind)
    if spec is not None and spec.on_failure is not None:
        spec.on_failure(row)


class _Heartbeat:
    """A thread that writes the row's ``heartbeat_at`` while the job runs.

    It writes through the engine (a connection of its own), not the job's session, so a
    job busy in one long step still shows it is alive.
    """

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.interval = max(1, settings().job_heartbeat_seconds)
        self.engine = db.engine
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"job-heartbeat-{job_id}")
        self.thread.daemon = True
        self.thread.start()

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(BackgroundJob)
                        .where(
                            BackgroundJob.id == self.job_id,
                            BackgroundJob.state == JobState.RUNNING,
                        )
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:  # the next beat tries again; the sweep judges the silence
                log.warning("heartbeat of job %s not written", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(self.interval + 5)


# --- The thread backend ----------------------------------------------------------------------

_threads: list[threading.Thread] = []
_threads_lock = threading.Lock()


def _start_thread(app: Flask, job_id: int, kind: str, kwargs: Mapping[str, Any]) -> None:
    def run() -> None:
        """Each attempt, and the back-off before the next, in this one thread."""
        while (wait := _run_in(app, job_id, kind, dict(kwargs))) is not None:
            time.sleep(wait)

    thread = threading.Thread(target=run, name=f"job-{kind}-{job_id}", daemon=True)
    with _threads_lock:
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(thread)
    thread.start()


def running_threads(kind: str | None = None) -> list[threading.Thread]:
    """The job threads of this process still running (``kind``: only those of that kind)."""
    with _threads_lock:
        return [
            t
            for t in _threads
            if t.is_alive() and (kind is None or t.name.startswith(f"job-{kind}-"))
        ]


def wait_for_threads(timeout: float = 120.0) -> None:
    """For tests and commands: wait until the job threads started here have finished."""
    with _threads_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)


# --- The RQ backend --------------------------------------------------------------------------


def redis_connection(app: Flask | None = None) -> Redis:
    """One Redis client per app (its connection pool is shared by the threads)."""
    from redis import Redis

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("signon_jobs_redis")
    if found is None:
        found = Redis.from_url(app.config["SIGNON"].redis_url)
        app.extensions["signon_jobs_redis"] = found
    connection: Redis = found
    return connection


def rq_queue(app: Flask | None = None) -> Queue:
    from rq import Queue

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return Queue(app.config["SIGNON"].job_queue, connection=redis_connection(app))


def rq_job_id(job_id: int, queue: str) -> str:
    """The RQ job's id: the queue's name with the row's, so that two sites (or two
    databases whose ids start again) sharing one Redis never take each other's jobs."""
    return f"{queue}-job-{job_id}"


def _submit_to_rq(app: Flask, job_id: int, kind: str, kwargs: Mapping[str, Any]) -> None:
    from rq import Callback, Retry

    spec = registered(kind)
    rq_queue(app).enqueue(
        run_job,
        args=(job_id, kind, dict(kwargs)),
        job_id=rq_job_id(job_id, app.config["SIGNON"].job_queue),
        job_timeout=spec.timeout,
        retry=Retry(max=len(spec.retries), interval=list(spec.retries)) if spec.retries else None,
        on_failure=Callback(on_rq_failure),
        result_ttl=24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=f"{kind} (job {job_id})",
    )


def on_rq_failure(rq_job: RqJob, connection: Any, kind: type, value: Any, tb: Any) -> None:
    """RQ's failure callback. Failures inside the job were recorded by :func:`run_job`;
    this records the one RQ alone sees: a worker that died mid-job (``AbandonedJobError``,
    found by RQ's registry cleanup), retried if attempts are left."""
    from rq.exceptions import AbandonedJobError

    if not (isinstance(kind, type) and issubclass(kind, AbandonedJobError)):
        return
    job_id = int(rq_job.args[0])
    app = _job_app()
    with app.app_context():
        try:
            row = db.session.get(BackgroundJob, job_id)
            if row is None or row.state == JobState.DONE:
                return
            reason = "The worker running it stopped (it was killed or crashed)."
            if row.state != JobState.FAILED:  # else the sweep has counted this attempt
                count_job_failure(row.kind)
            if rq_job.should_retry:
                row.state = JobState.QUEUED
                row.error = f"Attempt {row.attempts} failed: {reason} It is tried again."
            elif row.state != JobState.FAILED:
                log.error("background job %s (%s) abandoned for good", job_id, row.kind)
                _mark_failed(row, reason)
            transaction.commit()
        finally:
            db.session.remove()


# --- The sweep -------------------------------------------------------------------------------

STALE_REASON = (
    "The worker running it stopped (no sign of life for {quiet}): it was killed or "
    "crashed. Start it again if it is still needed."
)
LOST_REASON = "It was never started: the queue lost it (the process holding it stopped)."


def _minutes(quiet: timedelta) -> str:
    """ "12 minutes": a stored reason says how long, not when (a time in it would be in one
    zone for every reader; the page shows when the job failed in each reader's own)."""
    minutes = max(1, int(quiet.total_seconds() // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def sweep_stale_jobs(now: datetime | None = None) -> int:
    """Fail every running job whose heartbeat is older than ``job_stale_seconds``, and
    every queued job that no backend holds any more. Returns how many. Idempotent, and
    safe beside workers and another sweep: each row is failed by a conditional UPDATE
    (still running, heartbeat still old), so a job that came back to life is left alone."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings().job_stale_seconds)
    swept = 0
    stale = db.session.scalars(
        select(BackgroundJob).where(
            BackgroundJob.state == JobState.RUNNING, BackgroundJob.heartbeat_at < cutoff
        )
    ).all()
    for row in stale:
        since = row.heartbeat_at or row.started_at or row.queued_at
        reason = STALE_REASON.format(quiet=_minutes(now - since))
        still = (BackgroundJob.state == JobState.RUNNING, BackgroundJob.heartbeat_at < cutoff)
        if _fail_if_still(row, reason, *still):
            log.error("background job %s (%s) stopped without a word: failed", row.id, row.kind)
            swept += 1
    for row in _lost_queued(cutoff):
        still = (BackgroundJob.state == JobState.QUEUED, BackgroundJob.queued_at < cutoff)
        if _fail_if_still(row, LOST_REASON, *still):
            log.error("background job %s (%s) was lost before it started", row.id, row.kind)
            swept += 1
    return swept


def _fail_if_still(row: BackgroundJob, reason: str, *conditions: Any) -> bool:
    """Fail ``row`` if ``conditions`` still hold in the database (one UPDATE), then let
    its feature know (the failure hook, same transaction)."""
    result = db.session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == row.id, *conditions)
        .values(state=JobState.FAILED, error=reason[:REASON_MAX], finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    # a failed attempt like any other (the worker's own count died with it)
    count_after_commit(JOB_FAILURES, kind=row.kind)
    db.session.refresh(row)
    spec = _registry.get(row.kind)
    if spec is not None and spec.on_failure is not None:
        spec.on_failure(row)
    return True


def _lost_queued(before: datetime) -> list[BackgroundJob]:
    """Queued rows older than ``before`` that their backend no longer holds."""
    if backend_name() == "synchronous":
        return []
    rows = list(
        db.session.scalars(
            select(BackgroundJob).where(
                BackgroundJob.state == JobState.QUEUED, BackgroundJob.queued_at < before
            )
        )
    )
    if not rows:
        return []
    if backend_name() == "thread":
        # a thread starts at once: queued this long means its process stopped first
        alive = {t.name for t in running_threads()}
        return [row for row in rows if not any(n.endswith(f"-{row.id}") for n in alive)]
    from rq.job import Job as RqJob

    connection, queue = redis_connection(), settings().job_queue
    return [
        row for row in rows if not RqJob.exists(rq_job_id(row.id, queue), connection=connection)
    ]


@periodic("sweep-stale-jobs", every_seconds=60)
def _sweep() -> None:
    swept = sweep_stale_jobs()
    if swept:
        log.warning("%s stale background job(s) marked failed", swept)


# --- Reading ---------------------------------------------------------------------------------


def jobs_of(
    letter_id: int, *, kinds: Sequence[str] | None = None, limit: int = 20
) -> list[BackgroundJob]:
    """The letter's most recent jobs (of these ``kinds``), newest first."""
    query = select(BackgroundJob).where(BackgroundJob.letter_id == letter_id)
    if kinds is not None:
        query = query.where(BackgroundJob.kind.in_(list(kinds)))
    return list(db.session.scalars(query.order_by(BackgroundJob.id.desc()).limit(limit)))


def latest_job(letter_id: int, kind: str, target_id: int | None = None) -> BackgroundJob | None:
    query = select(BackgroundJob).where(
        BackgroundJob.letter_id == letter_id, BackgroundJob.kind == kind
    )
    if target_id is not None:
        query = query.where(BackgroundJob.target_id == target_id)
    return db.session.scalar(query.order_by(BackgroundJob.id.desc()).limit(1))


def run_periodic(name: str) -> None:
    """Run one periodic task as one unit of work (the scheduler enqueues this by name)."""
    task = _periodic[name]
    app = _job_app()
    with app.app_context():
        try:
            task.function()
            transaction.commit()
        except Exception:
            transaction.rollback()
            log.exception("periodic task %s failed", name)
            raise
        finally:
            db.session.remove()
