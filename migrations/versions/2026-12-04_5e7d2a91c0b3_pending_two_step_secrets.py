"""pending two-step secrets: the TOTP secret being set up waits server-side, not in the cookie

Revision ID: 5e7d2a91c0b3
Revises: 5c3a9e1d7b42
Create Date: 2026-12-04 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e7d2a91c0b3'
down_revision = '5c3a9e1d7b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_two_step_secrets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pending_two_step_secrets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_two_step_secrets')),
    sa.UniqueConstraint('user_id', name=op.f('uq_pending_two_step_secrets_user_id'))
    )


def downgrade():
    op.drop_table('pending_two_step_secrets')
