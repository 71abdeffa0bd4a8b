"""invitations: stored name sort key, so the coordinators' dashboard is sorted and paginated in SQL

Issue 11, item 5: the dashboard read every signature and invitation and sorted them in
Python (0.8-3 s at 20,000 signatories). Signatures already store their collation key
(f11f00000002); an invitation not answered yet is a dashboard row too, so it gets the
same key of its organisation's name (``collation.stored_name_order``), with an index on
(letter_id, name_order, id); this migration backfills it.

Revision ID: d45b00000001
Revises: f11f00000003
Create Date: 2026-12-04 16:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd45b00000001'
down_revision = 'f11f00000003'
branch_labels = None
depends_on = None


def _backfill() -> None:
    from signon.signatures import collation

    connection = op.get_bind()
    invitations = sa.table(
        'invitations',
        sa.column('id', sa.Integer),
        sa.column('letter_id', sa.Integer),
        sa.column('organisation_name', sa.String),
        sa.column('name_order', sa.LargeBinary),
    )
    letters = sa.table('letters', sa.column('id', sa.Integer), sa.column('language', sa.String))
    languages = {row.id: row.language or 'en' for row in connection.execute(sa.select(letters))}
    rows = connection.execute(
        sa.select(invitations.c.id, invitations.c.letter_id, invitations.c.organisation_name)
    ).all()
    values = [
        {
            'row_id': row.id,
            'name_order': collation.stored_name_order(
                row.organisation_name, None, languages.get(row.letter_id, 'en')
            ),
        }
        for row in rows
    ]
    if values:
        connection.execute(
            invitations.update()
            .where(invitations.c.id == sa.bindparam('row_id'))
            .values(name_order=sa.bindparam('name_order')),
            values,
        )


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_order', sa.LargeBinary(), nullable=True))
        batch_op.create_index(
            'ix_invitations_letter_name_order', ['letter_id', 'name_order', 'id'], unique=False
        )
    _backfill()


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_letter_name_order')
        batch_op.drop_column('name_order')
