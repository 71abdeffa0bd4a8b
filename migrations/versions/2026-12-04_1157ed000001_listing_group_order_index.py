"""signatures: an index in the listing's default order (organisations, then individuals, by name)

Issue 11, item 5: since individuals are listed after the organisations, the listing orders by
``CASE WHEN kind = 'individual' THEN 2 ELSE 0 END, name_order, id``, which no index served:
every page of the public page, embed and API sorted the whole letter (30 ms on SQLite at
20,000). This expression index serves it on SQLite and PostgreSQL (the query writes the same
expression with its values, ``signatures.models.LIST_GROUP_RANK_SQL``).

Revision ID: 1157ed000001
Revises: da5f00000001
Create Date: 2026-12-04 20:25:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "1157ed000001"
down_revision = "da5f00000001"
branch_labels = None
depends_on = None

#: signatures.models.LIST_GROUP_RANK_SQL when this revision was written (a migration keeps
#: its own copy: the model may change later).
RANK = "CASE WHEN (kind = 'individual') THEN 2 ELSE 0 END"


def upgrade() -> None:
    op.create_index(
        "ix_signatures_letter_list_group_name_order",
        "signatures",
        ["letter_id", sa.text(f"({RANK})"), "name_order", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_signatures_letter_list_group_name_order", table_name="signatures")
