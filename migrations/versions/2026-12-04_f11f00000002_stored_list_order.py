"""signatures: stored sort keys (name, country) so the signatory list is sorted and paginated in SQL

Issue 11, item 5: every list page loaded and sorted every signature in Python (795 ms for
the public page at 20,000 signatories). The ICU collation keys are now stored once per
signature (``signon.signatures.collation.stored_*``), with an index on
(letter_id, name_order, id); this migration backfills them.

Revision ID: f11f00000002
Revises: f11f00000001
Create Date: 2026-12-04 15:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f11f00000002'
down_revision = 'f11f00000001'
branch_labels = None
depends_on = None


def _backfill() -> None:
    from signon.signatures import collation

    connection = op.get_bind()
    signatures = sa.table(
        'signatures',
        sa.column('id', sa.Integer),
        sa.column('letter_id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('sort_name', sa.String),
        sa.column('country', sa.String),
        sa.column('name_order', sa.LargeBinary),
        sa.column('country_order', sa.LargeBinary),
        sa.column('country_place', sa.LargeBinary),
    )
    letters = sa.table('letters', sa.column('id', sa.Integer), sa.column('language', sa.String))
    languages = {row.id: row.language or 'en' for row in connection.execute(sa.select(letters))}
    rows = connection.execute(
        sa.select(
            signatures.c.id,
            signatures.c.letter_id,
            signatures.c.name,
            signatures.c.sort_name,
            signatures.c.country,
        )
    ).all()
    values = []
    for row in rows:
        language = languages.get(row.letter_id, 'en')
        values.append(
            {
                'row_id': row.id,
                'name_order': collation.stored_name_order(row.name, row.sort_name, language),
                'country_order': collation.stored_country_order(row.country, language),
                'country_place': collation.stored_country_place(row.country),
            }
        )
    if values:
        connection.execute(
            signatures.update()
            .where(signatures.c.id == sa.bindparam('row_id'))
            .values(
                name_order=sa.bindparam('name_order'),
                country_order=sa.bindparam('country_order'),
                country_place=sa.bindparam('country_place'),
            ),
            values,
        )


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_order', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('country_order', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('country_place', sa.LargeBinary(), nullable=True))
        batch_op.create_index(
            'ix_signatures_letter_name_order', ['letter_id', 'name_order', 'id'], unique=False
        )
    _backfill()


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_letter_name_order')
        batch_op.drop_column('country_place')
        batch_op.drop_column('country_order')
        batch_op.drop_column('name_order')
