"""notices to letters' teams, each person's notification choices, their last digest

Issue 12, item 1: what happens on a letter (approvals, declines, withdrawals, public
sign-ons waiting, changes waiting for classification, deadlines near, failed mail) is
recorded as a notice, mailed at once or in a daily digest by each person's choice, and
listed on the letter's page.

Revision ID: n071ce000001
Revises: c0a9e7000001
Create Date: 2026-12-04 18:11:53.166342

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'n071ce000001'
down_revision = 'c0a9e7000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice_digests',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('last_notice_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_digests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notice_digests'))
    )
    op.create_table('notification_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('approved', 'declined', 'withdrawn', 'public_pending', 'change_waiting', 'deadline_near', 'mail_failed', name='noticekind', native_enum=False, length=32), nullable=False),
    sa.Column('delivery', sa.Enum('immediate', 'digest', 'off', name='delivery', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id_kind'))
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('approved', 'declined', 'withdrawn', 'public_pending', 'change_waiting', 'deadline_near', 'mail_failed', name='noticekind', native_enum=False, length=32), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dedup_key', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_notices_letter_id_letters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('letter_id', 'dedup_key', name=op.f('uq_notices_letter_id_dedup_key'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_notices_letter_id_id', ['letter_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_letter_id_id')
        batch_op.drop_index(batch_op.f('ix_notices_created_at'))

    op.drop_table('notices')
    op.drop_table('notification_preferences')
    op.drop_table('notice_digests')
