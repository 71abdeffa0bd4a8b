"""signatory groups: the list's groups move from export_settings.options to signatory_orders

The grouping (``grouping``, ``first_tier``, ``new_since`` and ``individuals`` in
``export_settings.options``) decides who is in which group and so the order of every
output, not only the PDF's: it is copied into ``signatory_orders`` and removed from the
options. The groups' printed headings stay in the export settings.

Revision ID: a10a00000002
Revises: a10a00000001
Create Date: 2026-12-04 13:40:00.000000

"""
import json
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10a00000002'
down_revision = 'a10a00000001'
branch_labels = None
depends_on = None

GROUPINGS = ('none', 'country', 'kind', 'tier')
GROUP_KEYS = ('grouping', 'first_tier', 'new_since', 'individuals')

export_settings = sa.table(
    'export_settings',
    sa.column('id', sa.Integer()),
    sa.column('letter_id', sa.Integer()),
    sa.column('layout', sa.String()),
    sa.column('page_size', sa.String()),
    sa.column('audit_page', sa.Boolean()),
    sa.column('options', sa.JSON()),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)
signatory_orders = sa.table(
    'signatory_orders',
    sa.column('id', sa.Integer()),
    sa.column('letter_id', sa.Integer()),
    sa.column('mode', sa.String()),
    sa.column('custom_order', sa.JSON()),
    sa.column('grouping', sa.String()),
    sa.column('first_tier', sa.JSON()),
    sa.column('new_since', sa.Date()),
    sa.column('count_individuals', sa.Boolean()),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)


def _json(value):
    if isinstance(value, str):  # some drivers hand JSON back as text
        value = json.loads(value)
    return value


def _ids(values):
    if not isinstance(values, list):
        return []
    return [int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())]


def _date(value):
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _groups(options):
    grouping = options.get('grouping')
    return {
        'grouping': grouping if grouping in GROUPINGS else 'none',
        'first_tier': _ids(options.get('first_tier')),
        'new_since': _date(options.get('new_since')),
        'count_individuals': options.get('individuals') == 'count',
    }


def upgrade():
    with op.batch_alter_table('signatory_orders') as batch:
        batch.add_column(sa.Column('grouping', sa.String(16), nullable=False, server_default='none'))
        batch.add_column(sa.Column('first_tier', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('new_since', sa.Date(), nullable=True))
        batch.add_column(sa.Column('count_individuals', sa.Boolean(), nullable=False, server_default=sa.false()))
    connection = op.get_bind()
    orders = {row.letter_id for row in connection.execute(sa.select(signatory_orders.c.letter_id)).all()}
    now = datetime.now(timezone.utc)
    for row in connection.execute(sa.select(export_settings)).all():
        options = dict(_json(row.options) or {})
        if not any(key in options for key in GROUP_KEYS):
            continue
        groups = _groups(options)
        if row.letter_id in orders:
            connection.execute(
                signatory_orders.update()
                .where(signatory_orders.c.letter_id == row.letter_id)
                .values(**groups)
            )
        else:
            connection.execute(
                signatory_orders.insert().values(
                    letter_id=row.letter_id, mode='alphabetical', custom_order=[],
                    created_at=now, updated_at=now, **groups,
                )
            )
        kept = {key: value for key, value in options.items() if key not in GROUP_KEYS}
        connection.execute(
            export_settings.update().where(export_settings.c.id == row.id).values(options=kept)
        )


def downgrade():
    connection = op.get_bind()
    orders = {
        row.letter_id: row
        for row in connection.execute(sa.select(signatory_orders)).all()
    }
    settings = {row.letter_id: row for row in connection.execute(sa.select(export_settings)).all()}
    for letter_id, order in orders.items():
        if order.grouping == 'none' and not order.new_since and not order.count_individuals:
            continue
        groups = {
            'grouping': order.grouping,
            'first_tier': _ids(_json(order.first_tier)),
            'new_since': order.new_since.isoformat() if order.new_since else None,
            'individuals': 'count' if order.count_individuals else 'list',
        }
        row = settings.get(letter_id)
        if row is None:
            now = datetime.now(timezone.utc)
            connection.execute(
                export_settings.insert().values(
                    letter_id=letter_id, layout='letter', page_size='A4', audit_page=True,
                    options=groups, created_at=now, updated_at=now,
                )
            )
        else:
            options = {**dict(_json(row.options) or {}), **groups}
            connection.execute(
                export_settings.update().where(export_settings.c.id == row.id).values(options=options)
            )
    with op.batch_alter_table('signatory_orders') as batch:
        batch.drop_column('count_individuals')
        batch.drop_column('new_since')
        batch.drop_column('first_tier')
        batch.drop_column('grouping')
