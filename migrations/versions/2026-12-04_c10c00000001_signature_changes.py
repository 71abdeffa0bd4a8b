"""signature changes: a public signatory's changes after acceptance, held for review

Revision ID: c10c00000001
Revises: eeab13b29165
Create Date: 2026-12-04 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c10c00000001'
down_revision = 'eeab13b29165'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signature_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'rejected', 'cancelled', name='changestatus', native_enum=False, length=32), nullable=False),
    sa.Column('proposed', sa.JSON(), nullable=False),
    sa.Column('logo_filename', sa.String(length=80), nullable=True),
    sa.Column('proposed_by_email', sa.String(length=254), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_signature_changes_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], name=op.f('fk_signature_changes_signature_id_signatures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_changes'))
    )
    with op.batch_alter_table('signature_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_changes_signature_id'), ['signature_id'], unique=False)


def downgrade():
    with op.batch_alter_table('signature_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_changes_signature_id'))

    op.drop_table('signature_changes')
