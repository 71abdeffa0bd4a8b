"""letter approval slots: the dashboard chart's counts per 15-minute slot, kept with the letter counts

Issue 11, item 5 (the coordinators' dashboard under 200 ms at 20,000): the chart's
window over every approval event of the letter is taken by the periodic refresh of
``letter_counts`` (``signon/signatures/counts.py``) and the page reads these rows while
that letter's counts row is fresh, counting itself otherwise.

Revision ID: da5f00000001
Revises: 1nd1v0000001
Create Date: 2026-12-04 19:50:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "da5f00000001"
down_revision = "1nd1v0000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "letter_approval_slots",
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("counted_in", sa.Integer(), nullable=False),
        sa.Column("taken_out", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_letter_approval_slots_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("letter_id", "slot", name=op.f("pk_letter_approval_slots")),
    )


def downgrade():
    op.drop_table("letter_approval_slots")
