"""indexes: outbox messages by claim token, public sign requests by letter and address

Both lookups were full scans: the sender's claim query on the outbox (which only grows) and
the public sign-on's search for an earlier request of the same address, made while the
letter's row is locked. Measured in issue 11: with 100,000 old outbox messages public
sign-ons fell from 58-71/s to 24-30/s; with these two indexes they are back to 66-73/s.

Revision ID: f11f00000001
Revises: a10a00000002
Create Date: 2026-12-04 14:35:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f11f00000001'
down_revision = 'a10a00000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_claim_token', ['claim_token'], unique=False)
    with op.batch_alter_table('public_sign_requests', schema=None) as batch_op:
        batch_op.create_index(
            'ix_public_sign_requests_letter_email', ['letter_id', 'email'], unique=False
        )


def downgrade():
    with op.batch_alter_table('public_sign_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_public_sign_requests_letter_email')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_claim_token')
