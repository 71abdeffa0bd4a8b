"""letters: who may sign on the public page; signatures: an individual's affiliation

Issue 12, item 6: a coordinator chooses whether a public letter takes organisations,
individuals or both (``organisations`` for every existing letter: the behaviour before
the choice existed); an individual signing gives an optional affiliation, printed "for
identification only".

Revision ID: 1nd1v0000001
Revises: c4ec00000001
Create Date: 2026-12-04 19:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '1nd1v0000001'
down_revision = 'c4ec00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'public_signatories',
                sa.Enum('organisations', 'individuals', 'both', name='publicsignatories',
                        native_enum=False, length=16),
                server_default='organisations',
                nullable=False,
            )
        )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('affiliation', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('affiliation')
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_column('public_signatories')
