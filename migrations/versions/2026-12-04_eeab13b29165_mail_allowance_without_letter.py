"""mail allowance: team and organisation invitations count too (letter_id optional)

Revision ID: eeab13b29165
Revises: b9a1c2d3e4f5
Create Date: 2026-12-04 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'eeab13b29165'
down_revision = 'b9a1c2d3e4f5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('coordinator_mails', schema=None) as batch_op:
        batch_op.alter_column('letter_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column(
            'kind',
            existing_type=sa.String(length=20),
            type_=sa.String(length=30),
            existing_nullable=False,
        )


def downgrade():
    # Organisation invitations belong to no letter: their rows cannot go back.
    op.execute("DELETE FROM coordinator_mails WHERE letter_id IS NULL")
    with op.batch_alter_table('coordinator_mails', schema=None) as batch_op:
        batch_op.alter_column(
            'kind',
            existing_type=sa.String(length=30),
            type_=sa.String(length=20),
            existing_nullable=False,
        )
        batch_op.alter_column('letter_id', existing_type=sa.Integer(), nullable=False)
