"""audit checkpoints: how far each chain has been verified, so the log page checks only newer events

The audit log page re-verified the whole chain on every view (670 ms at 20,000
signatories, issue 11). A checkpoint per chain (its last verified event's seq, id and
hash, when it was checked, and when the whole chain was last checked) lets it verify only
what came after.

Revision ID: f11f00000003
Revises: j0b500000001
Create Date: 2026-12-04 16:05:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f11f00000003'
down_revision = 'j0b500000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_checkpoints',
        sa.Column('chain', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('hash_version', sa.Integer(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('full_checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_checkpoints')),
    )


def downgrade():
    op.drop_table('audit_checkpoints')
