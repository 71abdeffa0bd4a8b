"""audit_pending_events: audit events waiting to be sealed into their chain (issue 11)

Public sign-ons record their audit events here, in their own transaction, instead of
queuing for the end of the letter's hash chain; ``signon/audit/sealing.py`` moves them
into the chain, in order, within seconds.

Revision ID: 5ea100000001
Revises: e0d500000001
Create Date: 2026-12-04 18:50:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "5ea100000001"
down_revision = "e0d500000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_pending_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_pending_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_audit_pending_events_letter_id_letters"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending_events")),
    )
    with op.batch_alter_table("audit_pending_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_pending_events_chain_id", ["chain", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("audit_pending_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_pending_events_chain_id")
    op.drop_table("audit_pending_events")
