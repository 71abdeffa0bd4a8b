"""Each revision's text rendered to HTML once and stored (issue 9, item 12)

Revision ID: 5e1d0c7a9b21
Revises: 5e7d2a91c0b3
Create Date: 2026-12-04 05:45:00

"""
from alembic import op
import sqlalchemy as sa

from signon.core.markdown import render_markdown


# revision identifiers, used by Alembic.
revision = '5e1d0c7a9b21'
down_revision = '5e7d2a91c0b3'
branch_labels = None
depends_on = None

revisions = sa.table(
    'revisions',
    sa.column('id', sa.Integer()),
    sa.column('body_markdown', sa.Text()),
    sa.column('html', sa.Text()),
)


def upgrade():
    # Not batch mode: on SQLite it would rebuild ``revisions``, and dropping the old table
    # (foreign keys on) would cascade-delete what refers to it. A NOT NULL column with a
    # default is added in place by both databases.
    op.add_column('revisions', sa.Column('html', sa.Text(), server_default='', nullable=False))
    connection = op.get_bind()
    rows = connection.execute(sa.select(revisions.c.id, revisions.c.body_markdown)).all()
    for revision_id, body in rows:
        connection.execute(
            revisions.update()
            .where(revisions.c.id == revision_id)
            .values(html=str(render_markdown(body)))
        )


def downgrade():
    op.drop_column('revisions', 'html')
