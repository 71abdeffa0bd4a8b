"""comment threads: resolved by the invited organisation

Issue 13 (item 1 gaps): an invited organisation resolves and reopens its own threads
through its invitation link; ``resolved_by_invitation_id`` says it was the organisation
(``resolved_by_id`` stays the person on the team who resolved, when it was one).

Revision ID: c0mm00000002
Revises: 5a3b00000001
Create Date: 2026-12-05 00:20:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "c0mm00000002"
down_revision = "5a3b00000001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("comment_threads") as batch_op:
        batch_op.add_column(sa.Column("resolved_by_invitation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_comment_threads_resolved_by_invitation_id_invitations"),
            "invitations",
            ["resolved_by_invitation_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("comment_threads") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_comment_threads_resolved_by_invitation_id_invitations"),
            type_="foreignkey",
        )
        batch_op.drop_column("resolved_by_invitation_id")
