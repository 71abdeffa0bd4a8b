"""Job kinds for the tests of ``signon/core/jobs.py`` (imported by the tests and by the
worker app they start, ``tests/core/worker_app.py``)."""

from __future__ import annotations

import time
from pathlib import Path

from signon.core import jobs
from signon.extensions import db

#: What the hooks saw: (kind, job id, state, reason).
failures: list[tuple[str, int, str, str | None]] = []


def _note_failure(row: jobs.BackgroundJob) -> None:
    failures.append((row.kind, row.id, row.state.value, row.error))


@jobs.job("test.count", on_failure=_note_failure)
def count(running: jobs.RunningJob, *, steps: int, marker: str | None = None) -> None:
    """Reports progress ``steps`` times; writes ``marker`` (a file) at the end."""
    for step in range(steps):
        running.progress(int(100 * (step + 1) / steps))
    if marker:
        Path(marker).write_text(f"{running.id}:{running.attempt}")


@jobs.job("test.broken", retries=(0, 0), on_failure=_note_failure)
def broken(running: jobs.RunningJob) -> None:
    raise jobs.JobError(f"Attempt {running.attempt}: the test job always fails.")


@jobs.job("test.flaky", retries=(0, 0), on_failure=_note_failure)
def flaky(running: jobs.RunningJob) -> None:
    if running.attempt == 1:
        raise RuntimeError("first attempt fails")


@jobs.job("test.sees", on_failure=_note_failure)
def sees(running: jobs.RunningJob, *, user_id: int, marker: str) -> None:
    """Writes whether the user the caller added is visible (committed) to the job."""
    from signon.accounts.models import User

    Path(marker).write_text("yes" if db.session.get(User, user_id) is not None else "no")


@jobs.job("test.slow", retries=(0,), on_failure=_note_failure)
def slow(running: jobs.RunningJob, *, started: str, release: str) -> None:
    """Says it started, then waits (heartbeating) until ``release`` exists."""
    Path(started).write_text(str(running.attempt))
    while not Path(release).exists():
        time.sleep(0.1)


@jobs.job("test.flaky_twice", retries=(0, 1), on_failure=_note_failure)
def flaky_twice(running: jobs.RunningJob, *, marker: str) -> None:
    """Fails its first two attempts; writes the attempt that succeeded to ``marker``."""
    if running.attempt < 3:
        raise RuntimeError(f"attempt {running.attempt} fails")
    Path(marker).write_text(str(running.attempt))
