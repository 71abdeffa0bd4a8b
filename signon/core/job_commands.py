"""``flask --app signon worker`` and ``flask --app signon scheduler``: background work without cron.

- ``worker``: an RQ worker for Signon's queue (``SIGNON_JOB_QUEUE`` on ``SIGNON_REDIS_URL``).
  It runs the jobs in its own process (RQ's ``SimpleWorker``), so what it starts once (the
  PDF rendering pool, warmed here at start) serves every job; it also moves retries whose
  back-off has passed back onto the queue. Run one or more per host.
- ``scheduler``: enqueues the periodic tasks (reminders and mail retries every 5 minutes,
  the stale-job sweep every minute) with RQ's ``CronScheduler``. Every task is idempotent
  when two runs overlap, so two schedulers (or a scheduler and a hand-run ``flask
  send-mail``) do no harm. Without Redis it runs the tasks itself, in this process.
"""

from __future__ import annotations

import contextlib
import logging
import time

import click
from flask import Flask
from flask.cli import with_appcontext

from signon.core import jobs

log = logging.getLogger(__name__)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--name", default=None, help="The worker's name in RQ (default: host and pid).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run background jobs from Signon's RQ queue (needs SIGNON_REDIS_URL)."""
    from rq import SimpleWorker

    settings = jobs.settings()
    if not settings.redis_url:
        raise click.ClickException(
            "SIGNON_REDIS_URL is not set: without Redis, background jobs run in the process "
            "that starts them and no worker is needed."
        )
    jobs.run_worker_start_hooks()
    worker = SimpleWorker([jobs.rq_queue()], connection=jobs.redis_connection(), name=name or None)
    click.echo(f"Worker for queue {settings.job_queue!r} started.")
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every periodic task once, here, and stop.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Run the periodic tasks (reminders, mail retries, stale-job sweep): no cron needed."""
    tasks = jobs.periodic_tasks()
    for task in tasks:
        click.echo(f"  {task.name}: every {task.every_seconds} s")
    if once:
        for task in tasks:
            jobs.run_periodic(task.name)
        return
    if jobs.settings().redis_url:
        _run_rq_scheduler(tasks)
    else:
        _run_here(tasks)


def _run_rq_scheduler(tasks: list[jobs.PeriodicTask]) -> None:
    """RQ's CronScheduler enqueues each task on the queue; ``flask worker`` runs them."""
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=jobs.redis_connection(), logging_level="INFO")
    queue = jobs.settings().job_queue
    for task in tasks:
        scheduler.register(
            jobs.run_periodic,
            queue_name=queue,
            args=(task.name,),
            interval=task.every_seconds,
            job_timeout=max(60, task.every_seconds * 2),
            name=f"signon:{task.name}",
        )
    scheduler.start()  # type: ignore[no-untyped-call]


def _run_here(tasks: list[jobs.PeriodicTask]) -> None:
    """Without Redis: run each task in this process when it is due (until stopped)."""
    due = dict.fromkeys((task.name for task in tasks), 0.0)
    while True:
        for task in tasks:
            if time.monotonic() >= due[task.name]:
                due[task.name] = time.monotonic() + task.every_seconds
                # a failure is logged by run_periodic; the next round tries again
                with contextlib.suppress(Exception):
                    jobs.run_periodic(task.name)
        time.sleep(max(0.0, min(due.values()) - time.monotonic()))


def register(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
