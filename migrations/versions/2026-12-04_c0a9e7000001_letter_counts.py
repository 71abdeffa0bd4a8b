"""letter counts: a letter's listed and awaiting counts, maintained every few seconds

Issue 11, item 5: "counts come from a maintained aggregate ... the counter is never
wrong for more than a few seconds". One row per letter, refreshed from the indexed
counts by a periodic task (``signon/signatures/counts.py``), never incremented by the
sign-on requests (no new hot row); the public pages and the API read it while it is
fresh and count themselves otherwise.

Revision ID: c0a9e7000001
Revises: l1ke00000001
Create Date: 2026-12-04 18:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c0a9e7000001'
down_revision = 'l1ke00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'letter_counts',
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('listed', sa.Integer(), nullable=False),
        sa.Column('awaiting_reconfirmation', sa.Integer(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['letter_id'],
            ['letters.id'],
            name=op.f('fk_letter_counts_letter_id_letters'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('letter_id', name=op.f('pk_letter_counts')),
    )


def downgrade():
    op.drop_table('letter_counts')
