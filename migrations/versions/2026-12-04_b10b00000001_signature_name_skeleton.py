"""signatures: confusable skeleton column; names may collide (no unique (letter_id, name_key))

Each signature has one owner now: two signatures with the same name, or look-alike
names, are both kept and shown to the coordinators as possible duplicates. Stored
names are left exactly as they are (the audit chain vouches for them); only the
comparison keys are computed.

Revision ID: b10b00000001
Revises: c10c00000001
Create Date: 2026-12-04 12:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

from signon.core.names import name_key, skeleton


# revision identifiers, used by Alembic.
revision = 'b10b00000001'
down_revision = 'c10c00000001'
branch_labels = None
depends_on = None

_signatures = sa.table(
    'signatures',
    sa.column('id', sa.Integer),
    sa.column('name', sa.String),
    sa.column('name_key', sa.String),
    sa.column('name_skeleton', sa.String),
)


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_skeleton', sa.String(length=1200), nullable=True))
        batch_op.drop_constraint('uq_signatures_letter_id_name_key', type_='unique')
    connection = op.get_bind()
    # "declined:…" and "merged:…" keys only kept the unique constraint quiet.
    for row in connection.execute(sa.select(_signatures.c.id, _signatures.c.name)).all():
        connection.execute(
            _signatures.update()
            .where(_signatures.c.id == row.id)
            .values(name_key=name_key(row.name), name_skeleton=skeleton(row.name))
        )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.alter_column('name_skeleton', existing_type=sa.String(length=1200), nullable=False)
        batch_op.create_index(
            'ix_signatures_letter_skeleton', ['letter_id', 'name_skeleton'], unique=False
        )


def downgrade():
    # Colliding names cannot share a key under the old constraint: keep them apart.
    connection = op.get_bind()
    seen = set()
    rows = connection.execute(
        sa.text('SELECT id, letter_id, name_key FROM signatures ORDER BY id')
    ).all()
    for row in rows:
        if (row.letter_id, row.name_key) in seen:
            connection.execute(
                _signatures.update()
                .where(_signatures.c.id == row.id)
                .values(name_key=f'duplicate:{row.id}')
            )
        seen.add((row.letter_id, row.name_key))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_letter_skeleton')
        batch_op.create_unique_constraint(
            'uq_signatures_letter_id_name_key', ['letter_id', 'name_key']
        )
        batch_op.drop_column('name_skeleton')
