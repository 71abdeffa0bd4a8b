"""revision_diffs: the diff of two revisions as readers see it, stored once made

Issue 12 item 3: Changes, Compare and the invitee pages show the formatted text with its
changes marked inside it. That diff costs about 0.15 s of CPU for a 50,000-character letter
on an idle machine (up to a second under load), and the Changes page shows up to twenty:
seconds on the first view, in every process. Revisions never change, so neither does their
diff: it is made in the background when a revision is saved and read from here.

Revision ID: d1ff00000001
Revises: d45b00000002
Create Date: 2026-12-05 03:45:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "d1ff00000001"
down_revision = "d45b00000002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "revision_diffs",
        sa.Column("old_revision_id", sa.Integer(), nullable=False),
        sa.Column("new_revision_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("words_added", sa.Integer(), nullable=False),
        sa.Column("words_removed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["new_revision_id"],
            ["revisions.id"],
            name=op.f("fk_revision_diffs_new_revision_id_revisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["old_revision_id"],
            ["revisions.id"],
            name=op.f("fk_revision_diffs_old_revision_id_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "old_revision_id", "new_revision_id", name=op.f("pk_revision_diffs")
        ),
    )


def downgrade():
    op.drop_table("revision_diffs")
