"""Flask commands of the letters feature. Each is one unit of work: commit once, then
send its mail."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from signon.core import transaction
from signon.core.jobs import periodic
from signon.db import utcnow
from signon.letters.notices import send_digests


@click.command("send-digests")
@with_appcontext
def send_digests_command() -> None:
    """Mail each person the day's digest of notices on their letters. Idempotent.

    At most one digest per person per day (their day, in their account's time zone), with
    every notice since their last one that they take as a digest (their account page, or
    the letter's page); nothing when there is nothing new.
    ``flask scheduler`` runs it every hour.
    """
    sent = send_digests(utcnow())
    transaction.commit()
    click.echo(f"Digests sent: {sent}")


@periodic("send-digests", every_seconds=3600)
def send_digests_periodically() -> None:
    """``flask scheduler``'s digests: the same as ``flask send-digests``."""
    send_digests(utcnow())


def register(app: Flask) -> None:
    """Add this feature's commands to ``app.cli``."""
    app.cli.add_command(send_digests_command)
