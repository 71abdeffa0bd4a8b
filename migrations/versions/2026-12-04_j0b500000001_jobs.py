"""jobs: background work as the person who started it sees it (issue 11)

One row per job (a PDF export, a long list of invitations, a bundle import): its kind,
letter, who started it, state (queued / running / done / failed), progress, the failure
reason, attempts, the times it was queued, started, last heard of (heartbeat) and
finished, and the request that started it. ``signon/core/jobs.py`` writes it.

Revision ID: j0b500000001
Revises: f11f00000002
Create Date: 2026-12-04 15:55:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'j0b500000001'
down_revision = 'f11f00000002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=80), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=True),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('target_id', sa.Integer(), nullable=True),
        sa.Column(
            'state',
            sa.Enum('queued', 'running', 'done', 'failed', name='jobstate', native_enum=False,
                    length=16),
            nullable=False,
        ),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_jobs_letter_id_letters'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['started_by_id'], ['users.id'],
                                name=op.f('fk_jobs_started_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_letter_id_id', ['letter_id', 'id'], unique=False)
        batch_op.create_index('ix_jobs_state_heartbeat_at', ['state', 'heartbeat_at'], unique=False)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_heartbeat_at')
        batch_op.drop_index('ix_jobs_letter_id_id')
    op.drop_table('jobs')
