"""the invitee's browser time zone on the invitation

Issue 12, item 8: invitees read times in their browser's zone; the zone their page sends
is kept so that later mail to that address shows times in it rather than in UTC.

Revision ID: 712a00000001
Revises: 1157ed000001
Create Date: 2026-12-04 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '712a00000001'
down_revision = '1157ed000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('timezone')
