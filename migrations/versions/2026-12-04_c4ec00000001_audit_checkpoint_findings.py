"""audit checkpoints: what the last full check found wrong with the letter's records

Issue 11, item 5: the audit log page no longer checks a long chain from its first entry
(``flask scheduler`` moves the checkpoints on). A full check that finds revisions or
signatures differing from the chain kept no checkpoint, so that every view checked
everything again to show it; the findings are now kept with the checkpoint instead.

Revision ID: c4ec00000001
Revises: n071ce000001
Create Date: 2026-12-04 18:55:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4ec00000001'
down_revision = 'n071ce000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('findings', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_column('findings')
