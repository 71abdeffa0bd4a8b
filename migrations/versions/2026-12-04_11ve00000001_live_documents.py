"""live co-editing: each letter's shared document (a snapshot) and its unsaved updates

Issue 13, item 3: the live document of a letter is stored in the database, so that an
app restart loses nothing; each accepted update is a row until a save makes it a
revision and compacts it into the snapshot.

Revision ID: 11ve00000001
Revises: c0mm00000001
Create Date: 2026-12-04 21:14:48.953270

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '11ve00000001'
down_revision = 'c0mm00000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_documents',
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('base_revision_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['base_revision_id'], ['revisions.id'], name=op.f('fk_live_documents_base_revision_id_revisions')),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_live_documents_letter_id_letters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('letter_id', name=op.f('pk_live_documents'))
    )
    op.create_table('live_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_live_updates_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['letter_id'], ['live_documents.letter_id'], name=op.f('fk_live_updates_letter_id_live_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_updates'))
    )
    with op.batch_alter_table('live_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_updates_letter_id'), ['letter_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('live_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_updates_letter_id'))

    op.drop_table('live_updates')
    op.drop_table('live_documents')
