"""team invitations: a role on a letter's team waiting for an e-mail address

Revision ID: 5c3a9e1d7b42
Revises: ec0070ea1050
Create Date: 2026-12-04 05:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c3a9e1d7b42'
down_revision = 'ec0070ea1050'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('team_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.Enum('viewer', 'drafter', 'coordinator', name='teamrole', native_enum=False, length=32), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_team_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_team_invitations_letter_id_letters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_invitations')),
    sa.UniqueConstraint('letter_id', 'email', name=op.f('uq_team_invitations_letter_id_email'))
    )
    with op.batch_alter_table('team_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_invitations_email'), ['email'], unique=False)


def downgrade():
    with op.batch_alter_table('team_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_invitations_email'))

    op.drop_table('team_invitations')
