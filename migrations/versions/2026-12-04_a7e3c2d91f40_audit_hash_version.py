"""audit events: hash format version

Existing events keep version 1 (their hash did not cover the actor's account id) and
are verified with that formula; new events are written with version 2. No event is
re-hashed: re-chaining would hide whatever was changed before the upgrade.

Revision ID: a7e3c2d91f40
Revises: 5e1d0c7a9b21
Create Date: 2026-12-04 05:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e3c2d91f40'
down_revision = '5e1d0c7a9b21'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch): SQLite and PostgreSQL add it in place.
    op.add_column(
        'audit_events',
        sa.Column('hash_version', sa.Integer(), server_default='1', nullable=False),
    )


def downgrade():
    # Version-2 events cannot be verified without their version: going down is for
    # development databases only.
    op.drop_column('audit_events', 'hash_version')
