"""Flask commands of this feature. Each is one unit of work: commit once, then send mail."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from signon.core import transaction
from signon.core.jobs import periodic
from signon.db import utcnow


@click.command("send-reminders")
@with_appcontext
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only count the reminders that are due: record and send nothing.",
)
def send_reminders_command(dry_run: bool) -> None:
    """Mail reminders before letters' deadlines. Idempotent; ``flask scheduler`` runs it.

    Each organisation that has not approved the current text gets one mail per point
    before the deadline (SIGNON_REMINDER_HOURS, e.g. 168,48,12), never twice, even
    when two runs overlap. Links point at SIGNON_BASE_URL (the app does not start without it).
    """
    from signon.signatures.invitations.reminders import reminder_points, send_reminders

    summary = send_reminders(utcnow(), dry_run=dry_run)
    if dry_run:
        transaction.rollback()
    else:
        transaction.commit()
    for line in summary.lines(reminder_points()):
        click.echo(line)


@periodic("send-reminders", every_seconds=300)
def send_reminders_periodically() -> None:
    """``flask scheduler``'s reminders: the same as ``flask send-reminders``."""
    from signon.signatures.invitations.reminders import send_reminders

    send_reminders(utcnow())


def register(app: Flask) -> None:
    """Add this feature's commands to ``app.cli``."""
    app.cli.add_command(send_reminders_command)
