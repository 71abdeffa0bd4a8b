"""letter counts: the stamp of what they were counted from; signatures by letter and last change

Issue 11, item 5: the periodic refresh of ``letter_counts`` (and a reader that finds a
row stale) counted every large public letter again every 2 s, changed or not. The row
now keeps a stamp of its sources (how many signatures the letter has, the sum of their
``updated_at``, its revisions) and when it was last counted; an unchanged stamp moves
only ``refreshed_at``. The index lets the stamp be read from the index alone.

Revision ID: 5a3b00000001
Revises: 712a00000003
Create Date: 2026-12-04 21:50:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "5a3b00000001"
down_revision = "712a00000003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letter_counts") as batch_op:
        batch_op.add_column(sa.Column("stamp", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_signatures_letter_updated_at", "signatures", ["letter_id", "updated_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_signatures_letter_updated_at", table_name="signatures")
    with op.batch_alter_table("letter_counts") as batch_op:
        batch_op.drop_column("counted_at")
        batch_op.drop_column("stamp")
