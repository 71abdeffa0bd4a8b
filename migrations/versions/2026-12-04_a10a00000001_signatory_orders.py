"""signatory orders: the list's order moves from export_settings.options to its own table

The order the coordinators chose (``order`` and ``custom_order`` in
``export_settings.options``) is copied into ``signatory_orders`` and removed from the
options, so that only one place holds it.

Revision ID: a10a00000001
Revises: b10b00000001
Create Date: 2026-12-04 13:10:00.000000

"""
import json
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10a00000001'
down_revision = 'b10b00000001'
branch_labels = None
depends_on = None

MODES = ('alphabetical', 'country', 'kind', 'drafters_first', 'custom')
ORDER_KEYS = ('order', 'custom_order')

export_settings = sa.table(
    'export_settings',
    sa.column('id', sa.Integer()),
    sa.column('letter_id', sa.Integer()),
    sa.column('options', sa.JSON()),
)
signatory_orders = sa.table(
    'signatory_orders',
    sa.column('letter_id', sa.Integer()),
    sa.column('mode', sa.String()),
    sa.column('custom_order', sa.JSON()),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)


def _options(value):
    if isinstance(value, str):  # some drivers hand JSON back as text
        value = json.loads(value)
    return dict(value or {})


def _ids(values):
    if not isinstance(values, list):
        return []
    return [int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())]


def upgrade():
    op.create_table('signatory_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum(*MODES, name='ordermode', native_enum=False, length=32), nullable=False),
    sa.Column('custom_order', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_signatory_orders_letter_id_letters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_signatory_orders_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatory_orders')),
    sa.UniqueConstraint('letter_id', name=op.f('uq_signatory_orders_letter_id'))
    )
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    for row in connection.execute(sa.select(export_settings)).all():
        options = _options(row.options)
        if not any(key in options for key in ORDER_KEYS):
            continue
        mode = options.get('order') if options.get('order') in MODES else 'alphabetical'
        connection.execute(
            signatory_orders.insert().values(
                letter_id=row.letter_id,
                mode=mode,
                custom_order=_ids(options.get('custom_order')),
                created_at=now,
                updated_at=now,
            )
        )
        kept = {key: value for key, value in options.items() if key not in ORDER_KEYS}
        connection.execute(
            export_settings.update().where(export_settings.c.id == row.id).values(options=kept)
        )


def downgrade():
    connection = op.get_bind()
    orders = {
        row.letter_id: row
        for row in connection.execute(sa.select(signatory_orders)).all()
    }
    for row in connection.execute(sa.select(export_settings)).all():
        order = orders.get(row.letter_id)
        if order is None:
            continue
        options = _options(row.options)
        options['order'] = order.mode
        custom = order.custom_order
        options['custom_order'] = _ids(json.loads(custom) if isinstance(custom, str) else custom)
        connection.execute(
            export_settings.update().where(export_settings.c.id == row.id).values(options=options)
        )
    op.drop_table('signatory_orders')
