"""each person's choice of notification mail for one letter, over their account's

Issue 12, item 1: each team member chooses how they hear of a letter's notices
(immediately, in the daily digest or not at all) on its page; without a choice there,
their account page's choices apply.

Revision ID: 712a00000002
Revises: 5u99e5700001
Create Date: 2026-12-04 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '712a00000002'
down_revision = '5u99e5700001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('letter_notification_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('delivery', sa.Enum('immediate', 'digest', 'off', name='delivery', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_letter_notification_choices_letter_id_letters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_letter_notification_choices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_notification_choices')),
    sa.UniqueConstraint('letter_id', 'user_id', name=op.f('uq_letter_notification_choices_letter_id_user_id'))
    )
    with op.batch_alter_table('letter_notification_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_notification_choices_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('letter_notification_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_notification_choices_user_id'))

    op.drop_table('letter_notification_choices')
