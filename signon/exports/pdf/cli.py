"""``flask --app signon export-pdf <slug> -o FILE.pdf [--layout statement|letter]``.

One unit of work: the export (and its :class:`ExportRecord`) is made in this process,
then committed once; the file written is the stored one, byte for byte. An unchanged
letter gives its earlier export again (and no new record).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from signon.core.transaction import commit, rollback
from signon.exports.models import ExportStatus, Layout
from signon.exports.pdf import operations as pdf_operations
from signon.extensions import db
from signon.letters.models import Letter


@click.command("export-pdf")
@click.argument("slug")
@click.option("-o", "--output", "output", required=True, help="The PDF file to write.")
@click.option(
    "--layout",
    type=click.Choice([layout.value for layout in Layout]),
    default=None,
    help="Override the letter's layout for this export.",
)
@with_appcontext
def export_pdf_command(slug: str, output: str, layout: str | None) -> None:
    """Export the letter SLUG (its current text and listed signatories) as PDF."""
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    if letter is None:
        raise click.ClickException(f"There is no letter with the slug “{slug}”.")
    try:
        result = pdf_operations.export_pdf(
            letter,
            None,
            actor_label="command line",
            layout=Layout(layout) if layout else None,
            background=False,
        )
    except pdf_operations.ExportError as error:
        rollback()
        raise click.ClickException(str(error)) from error
    record = result.record
    if record.status != ExportStatus.DONE:
        message = record.error or "The PDF could not be made."
        commit()  # the failed attempt is recorded
        raise click.ClickException(message)
    data = pdf_operations.stored_pdf(record)
    record_id, pages, reused = record.id, record.page_count, result.reused
    commit()
    try:
        Path(output).write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {output}: {exc.strerror or exc}") from exc
    how = "unchanged since export" if reused else "export"
    click.echo(f"{output}: {pages} pages ({how} {record_id}, {len(data):,} bytes)")


def register(app: Flask) -> None:
    """Add these commands to ``app.cli``."""
    app.cli.add_command(export_pdf_command)
