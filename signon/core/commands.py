"""``flask --app signon send-mail``: send the outbox's unsent messages.

``flask scheduler`` runs the same every 5 minutes (no cron needed).

Idempotent and safe to run while another run (or a request) is sending: each message
is claimed before it is sent, and a sent message is never sent again.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from signon.core.jobs import periodic
from signon.core.mail import send_due


@click.command("send-mail")
@with_appcontext
def send_mail_command() -> None:
    """Send the e-mails that are due (new, or failed earlier and past their back-off)."""
    report = send_due()
    click.echo(f"{report.sent} sent, {report.failed} failed (kept for a later attempt).")
    if report.failed:
        raise SystemExit(1)


@periodic("send-mail", every_seconds=300)
def send_mail_periodically() -> None:
    """``flask scheduler``'s mail retries: the same as ``flask send-mail``."""
    send_due()


def register(app: Flask) -> None:
    from signon.core import job_commands

    app.cli.add_command(send_mail_command)
    job_commands.register(app)
