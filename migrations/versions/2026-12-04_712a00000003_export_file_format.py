"""the format of an export's file: pdf, or docx for the editable Word file

Issue 12, item 7: the .docx export is recorded like the PDF (revision, signatures and
their hashes, the kept file and its hash), so the audit trail lists it.

Revision ID: 712a00000003
Revises: 11ve00000001
Create Date: 2026-12-04 21:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '712a00000003'
down_revision = '11ve00000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_format', sa.String(length=8), server_default='pdf', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('export_records', schema=None) as batch_op:
        batch_op.drop_column('file_format')
