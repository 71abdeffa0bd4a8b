"""coordinator mails: the durable count behind the daily mail allowances

Revision ID: b9a1c2d3e4f5
Revises: a7e3c2d91f40
Create Date: 2026-12-04 05:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b9a1c2d3e4f5'
down_revision = 'a7e3c2d91f40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coordinator_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_coordinator_mails_letter_id_letters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_coordinator_mails_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coordinator_mails'))
    )
    with op.batch_alter_table('coordinator_mails', schema=None) as batch_op:
        batch_op.create_index('ix_coordinator_mails_letter_id_created_at', ['letter_id', 'created_at'], unique=False)
        batch_op.create_index('ix_coordinator_mails_user_id_created_at', ['user_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('coordinator_mails', schema=None) as batch_op:
        batch_op.drop_index('ix_coordinator_mails_user_id_created_at')
        batch_op.drop_index('ix_coordinator_mails_letter_id_created_at')

    op.drop_table('coordinator_mails')
