"""email_addresses_in_nfc: stored e-mail addresses in Unicode NFC

Addresses were only trimmed and lower-cased, so one typed with a decomposed accent
("e" + U+0301, as some macOS and copy-paste paths produce) was stored as it came and
never matched the composed spelling. ``signon.core.fields.normalise_email`` now gives NFC;
the addresses already stored are brought to it here, so lookups by the new form find them.

A row whose NFC form is already taken in its uniqueness scope (an NFD account next to the
NFC one, the same invitation twice on a letter) is left as it is: merging two accounts or
invitations is a decision for a person, not for a migration.

Revision ID: nfc000000001
Revises: d1ff00000001
Create Date: 2026-12-05 04:50:00.000000

"""

import unicodedata

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "nfc000000001"
down_revision = "d1ff00000001"
branch_labels = None
depends_on = None

#: table -> the columns that, with ``email``, must stay unique (None: not unique).
_TABLES: dict[str, tuple[str, ...] | None] = {
    "users": (),
    "team_invitations": ("letter_id",),
    "invitations": ("letter_id",),
    "organisation_invitations": None,
    "signatures": None,
    "public_sign_requests": None,
}


def _nfc(email: str) -> str:
    # Frozen copy of signon.core.fields.normalise_email as of this revision.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", email.strip()).lower())


def upgrade():
    conn = op.get_bind()
    for name, scope in _TABLES.items():
        columns = [sa.column("id"), sa.column("email"), *(sa.column(c) for c in scope or ())]
        table = sa.table(name, *columns)
        rows = conn.execute(sa.select(*columns).where(table.c.email.is_not(None))).all()
        taken = {(tuple(row[2:]), row.email) for row in rows}
        for row in rows:
            wanted = _nfc(row.email)
            if wanted == row.email:
                continue
            key = (tuple(row[2:]), wanted)
            if scope is not None and key in taken:
                continue
            taken.add(key)
            conn.execute(table.update().where(table.c.id == row.id).values(email=wanted))


def downgrade():
    # NFC spellings were valid before this revision too: nothing to undo.
    pass
