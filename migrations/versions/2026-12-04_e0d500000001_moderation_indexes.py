"""signatures: indexes for the moderation page (pending ones by moderation; names by key)

Issue 11, item 5: the moderation page reads a page of the pending sign-ons
(letter_id, moderation) and finds merge targets and colliding names by ``name_key``
(equality, prefix search, GROUP BY): both were scans of the letter's signatures.

Revision ID: e0d500000001
Revises: d45b00000001
Create Date: 2026-12-04 16:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e0d500000001'
down_revision = 'd45b00000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(
            'ix_signatures_letter_moderation', ['letter_id', 'moderation'], unique=False
        )
        batch_op.create_index(
            'ix_signatures_letter_name_key', ['letter_id', 'name_key'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_letter_name_key')
        batch_op.drop_index('ix_signatures_letter_moderation')
