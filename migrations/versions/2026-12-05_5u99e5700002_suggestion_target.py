"""suggestions: what a suggestion changes, a passage of the text or the letter's title

Issue 13 (item 2): suggestion mode may propose a new title; accepted, it is a revision by
its author, as a suggestion of the text is. Every existing suggestion is of the text.

Revision ID: 5u99e5700002
Revises: c0mm00000002
Create Date: 2026-12-05 00:45:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "5u99e5700002"
down_revision = "c0mm00000002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("suggestions") as batch_op:
        batch_op.add_column(
            sa.Column(
                "target",
                sa.Enum("body", "title", name="suggestiontarget", native_enum=False, length=32),
                server_default="body",
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table("suggestions") as batch_op:
        batch_op.drop_column("target")
