"""Flask commands. Each one is a unit of work: it commits once, then sends its mail."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from signon.core.transaction import commit
from signon.extensions import db


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when the database has no letter yet.")
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo letter (the ICC cooperation statement) with accounts and revisions."""
    from signon.demo import DEMO_SLUG, seed_demo
    from signon.letters.models import Letter

    if if_empty and (db.session.scalar(select(func.count()).select_from(Letter)) or 0) > 0:
        click.echo("The database already has letters: demo not loaded.")
        return
    result = seed_demo()
    commit()
    if result.created:
        click.echo(f"Demo letter loaded: /letters/{DEMO_SLUG}/")
    else:
        click.echo(f"The demo letter is already there: /letters/{DEMO_SLUG}/")


@click.command("demo-login")
@with_appcontext
def demo_login_command() -> None:
    """Print the demo accounts' login."""
    from signon.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, DRAFTER_EMAIL

    click.echo(f"  Log in as the coordinator: {COORDINATOR_EMAIL} / {DEMO_PASSWORD}")
    click.echo(f"  or as a drafter:           {DRAFTER_EMAIL} / {DEMO_PASSWORD}")


@click.command("verify-audit")
@click.argument("slug", required=False)
@with_appcontext
def verify_audit_command(slug: str | None) -> None:
    """Recompute the audit chains (of one letter, or all) and name the first broken event.

    Then check each letter's records against its chain: every revision's text against its
    stored and its audited SHA-256, every signature against its last audited snapshot.
    Always from the first event; records where each intact chain was checked up to (the
    audit log page checks only what comes after) and forgets it for a broken one. Events
    still pending (public sign-ons not sealed yet) are sealed into their chains first.
    """
    from signon.audit.checkpoints import check_in_full
    from signon.audit.sealing import seal_all, seal_letter
    from signon.letters.models import Letter

    letter_id = None
    if slug:
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        if letter is None:
            raise click.ClickException(f"No letter with the slug {slug!r}.")
        letter_id = letter.id
    # events still pending (public sign-ons of the last seconds) join their chain first
    sealed = seal_all() if letter_id is None else int(seal_letter(letter_id))
    if sealed:
        click.echo(f"Sealed the pending audit events of {sealed} letter(s) into their chains.")
    reports = check_in_full(letter_id)
    commit()  # the checkpoints: the audit log page checks only what comes after them
    broken = [r for r in reports if not r.intact]
    for report in reports:
        if report.intact:
            click.echo(f"{report.chain}: {report.events} events, intact")
        if report.broken_at is not None:
            event = report.broken_at
            click.echo(
                f"{report.chain}: BROKEN at event #{event.seq} (id {event.id}, "
                f"{event.action}, {event.created_at.isoformat()}): {report.problem}"
            )
        for finding in report.findings:
            click.echo(f"{report.chain}: DOES NOT MATCH THE AUDIT: {finding}")
    if broken:
        raise SystemExit(1)
    click.echo("All audit chains are intact, and the letters match them.")


@click.command("audit-baseline")
@with_appcontext
def audit_baseline_command() -> None:
    """Once, after upgrading: record the revisions and signatures no audit event vouches for.

    Chains written before the audit covered revision hashes and signatures' printed
    fields have no record of them, and verify-audit reports each. This appends one event
    per such revision (only if its text matches its stored hash) and one per letter
    listing its unrecorded signatures. Old events are never re-hashed; the run is itself
    in each letter's log. Whatever had been changed before it is vouched for from now on,
    so run it right after upgrading, after `flask verify-audit` reported intact chains.
    """
    from signon.letters.audit_records import baseline_revisions
    from signon.letters.models import Letter
    from signon.signatures.audit_records import baseline_signatures

    refused_any = False
    for letter in db.session.scalars(select(Letter).order_by(Letter.id)):
        recorded, refused = baseline_revisions(letter.id)
        signatures = baseline_signatures(letter.id)
        if recorded or signatures:
            click.echo(
                f"{letter.slug}: recorded revisions {recorded or 'none'}, {signatures} signature(s)"
            )
        for number in refused:
            refused_any = True
            click.echo(
                f"{letter.slug}: revision {number} NOT recorded: its text does not match "
                "its stored SHA-256"
            )
    commit()
    if refused_any:
        raise SystemExit(1)
    click.echo("Done: `flask verify-audit` now checks every revision and signature.")


def init_app(app: Flask) -> None:
    """Register the project's commands on ``app.cli``."""
    from signon.core import commands as core_commands
    from signon.exports import commands as export_commands
    from signon.letters import commands as letter_commands
    from signon.signatures import commands as signature_commands

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(demo_login_command)
    app.cli.add_command(verify_audit_command)
    app.cli.add_command(audit_baseline_command)
    signature_commands.register(app)
    letter_commands.register(app)
    core_commands.register(app)
    export_commands.register(app)
