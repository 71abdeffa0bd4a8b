"""signatures: stored likeness keys (loose name, website host, mail domain), indexed

Issue 11, item 5: the moderation page looked for the possible duplicates of a page of
pending sign-ons with ``name_key LIKE '%w1%w2%'`` and ``lower(website|email) LIKE
'%host%'``: scans of the letter's signatures (120-370 ms at 20,000). The keys are now
stored (``signon.signatures.likeness``) and matched by equality on an index. The
moderation index gains ``status`` and ``name_key`` so the pending and accepted public
signatures (moderation and status given), and the accepted ones' page ordered by name, are
read from it instead of walking every name of the letter (SQLite, without statistics, took
the (letter_id, status) index); held changes get an index by status and age; the name key and
skeleton indexes gain the moderation and status columns, so that the names two counted
signatures share (GROUP BY ... HAVING count > 1) are found in the index alone.

Revision ID: l1ke00000001
Revises: 5ea100000001
Create Date: 2026-12-04 18:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

from signon.signatures import likeness

# revision identifiers, used by Alembic.
revision = 'l1ke00000001'
down_revision = '5ea100000001'
branch_labels = None
depends_on = None

BATCH = 1000
#: Indexes that gain columns: (name: columns) after and before.
NEW_SHAPES = {
    'ix_signatures_letter_moderation': ['letter_id', 'moderation', 'status', 'name_key'],
    'ix_signatures_letter_name_key': ['letter_id', 'name_key', 'moderation', 'status'],
    'ix_signatures_letter_skeleton': ['letter_id', 'name_skeleton', 'moderation', 'status'],
}
OLD_SHAPES = {
    'ix_signatures_letter_moderation': ['letter_id', 'moderation'],
    'ix_signatures_letter_name_key': ['letter_id', 'name_key'],
    'ix_signatures_letter_skeleton': ['letter_id', 'name_skeleton'],
}


def _backfill() -> None:
    signatures = sa.table(
        'signatures',
        sa.column('id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('website', sa.String),
        sa.column('email', sa.String),
        sa.column('loose_key', sa.String),
        sa.column('website_host', sa.String),
        sa.column('mail_domain', sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(signatures.c.id, signatures.c.name, signatures.c.website, signatures.c.email)
    ).all()
    values = [
        {
            'row_id': row.id,
            'loose': likeness.loose_key(row.name),
            'host': likeness.website_host(row.website),
            'domain': likeness.mail_domain(row.email),
        }
        for row in rows
    ]
    statement = (
        sa.update(signatures)
        .where(signatures.c.id == sa.bindparam('row_id'))
        .values(
            loose_key=sa.bindparam('loose'),
            website_host=sa.bindparam('host'),
            mail_domain=sa.bindparam('domain'),
        )
    )
    for start in range(0, len(values), BATCH):
        connection.execute(statement, values[start : start + BATCH])


def upgrade() -> None:
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('loose_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('website_host', sa.String(length=253), nullable=True))
        batch_op.add_column(sa.Column('mail_domain', sa.String(length=253), nullable=True))
    _backfill()
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        for name, columns in NEW_SHAPES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_index(
            'ix_signatures_letter_loose_key', ['letter_id', 'loose_key'], unique=False
        )
        batch_op.create_index(
            'ix_signatures_letter_website_host', ['letter_id', 'website_host'], unique=False
        )
        batch_op.create_index(
            'ix_signatures_letter_mail_domain', ['letter_id', 'mail_domain'], unique=False
        )


    with op.batch_alter_table('signature_changes', schema=None) as batch_op:
        batch_op.create_index(
            'ix_signature_changes_status_proposed', ['status', 'proposed_at', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('signature_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_signature_changes_status_proposed')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_letter_mail_domain')
        batch_op.drop_index('ix_signatures_letter_website_host')
        batch_op.drop_index('ix_signatures_letter_loose_key')
        for name, columns in OLD_SHAPES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
        batch_op.drop_column('mail_domain')
        batch_op.drop_column('website_host')
        batch_op.drop_column('loose_key')
