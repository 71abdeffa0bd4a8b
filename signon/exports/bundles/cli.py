"""``flask --app signon export-letter`` and ``import-letter``: letter bundles (docs/bundles.md).

``import-letter`` is one unit of work: it checks the whole bundle, reports every
problem and imports nothing if there is one; otherwise it adds everything and
commits once, at the end. Its last line of output is the new letter's slug.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from signon.accounts.models import User
from signon.core.transaction import commit, rollback
from signon.exports.bundles.operations import (
    BundleError,
    LetterEntry,
    bundle_fingerprint,
    check_bundle,
    dumps,
    export_letter,
    import_letter,
    resolve_owner,
)
from signon.extensions import db
from signon.letters.models import Letter


@click.command("export-letter")
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    "output",
    default="-",
    show_default=True,
    help="The file to write (JSON); '-' writes to standard output.",
)
@with_appcontext
def export_letter_command(slug: str, output: str) -> None:
    """Write the letter SLUG, its revisions and signatories as a JSON bundle."""
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    if letter is None:
        raise click.ClickException(f"There is no letter with the slug “{slug}”.")
    bundle = export_letter(letter)
    text = dumps(bundle)
    rollback()  # nothing was changed; end the read transaction
    if output == "-":
        sys.stdout.write(text)
        return
    path = Path(output)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(
        f"Exported “{bundle['title']}”: {len(bundle['revisions'])} revisions, "
        f"{len(bundle['signatories'])} signatories, to {output}"
    )


@click.command("import-letter")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--owner",
    "owner_email",
    default=None,
    help="E-mail of the account that becomes the letter's coordinator "
    "(may be left out when the instance has exactly one account).",
)
@with_appcontext
def import_letter_command(file: Path, owner_email: str | None) -> None:
    """Create a new letter from the JSON bundle FILE. The last line printed is its slug."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"Cannot read {file}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text.") from exc
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{file} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    problems: list[str] = []
    owner: User | None = None
    try:
        owner = resolve_owner(owner_email)
    except BundleError as error:
        problems.extend(error.problems)
    checked: LetterEntry | None = None
    try:
        checked = check_bundle(data)
    except BundleError as error:
        problems.extend(error.problems)
    try:
        if problems or owner is None or checked is None:
            raise BundleError(problems)
        result = import_letter(data, owner, bundle_sha256=bundle_fingerprint(raw), checked=checked)
    except BundleError as error:
        rollback()
        noun = "problem" if len(error.problems) == 1 else "problems"
        click.echo(f"Nothing was imported: {len(error.problems)} {noun} in {file}:", err=True)
        for problem in error.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1) from None
    except Exception:
        rollback()
        raise
    slug = result.letter.slug
    title = result.letter.title
    commit()
    click.echo(
        f"Imported “{title}” for {owner.email}: {result.revisions} "
        f"revision{'s' if result.revisions != 1 else ''}, {result.signatories} "
        f"signator{'ies' if result.signatories != 1 else 'y'}"
        + (
            f" ({result.approved_on_import} recorded as approving the current text)"
            if result.approved_on_import
            else ""
        )
        + "."
    )
    if result.authors_without_account:
        click.echo(
            "No account here for: "
            + ", ".join(result.authors_without_account)
            + " (their revisions are kept without an author)."
        )
    click.echo(slug)


def register(app: Flask) -> None:
    """Add these commands to ``app.cli``."""
    app.cli.add_command(export_letter_command)
    app.cli.add_command(import_letter_command)
