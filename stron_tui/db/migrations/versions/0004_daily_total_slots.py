"""daily totals: sales without an operator spread over slots, so concurrent API sales don't share one row lock

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

KEY = ['business_date', 'station_id', 'operator_key', 'district_id', 'utility', 'payment_type', 'paid_currency',
       'currency']
AMOUNTS = ['vend_count', 'paid_amount', 'gross_amount', 'vat_amount', 'excise_amount', 'net_amount', 'units']


def upgrade() -> None:
    with op.batch_alter_table('vend_daily_totals') as batch:
        batch.add_column(sa.Column('slot', sa.SmallInteger(), nullable=False, server_default='0'))
        batch.drop_constraint('uq_vend_daily_totals_key', type_='unique')
        batch.create_unique_constraint('uq_vend_daily_totals_key', [*KEY, 'slot'])


def downgrade() -> None:
    # Fold each key's slots into its lowest slot's row, then drop the others and the column.
    same_key = " AND ".join(f"o.{name} = vend_daily_totals.{name}" for name in KEY)
    lowest = f"(SELECT MIN(o.slot) FROM vend_daily_totals o WHERE {same_key})"
    sums = ", ".join(f"{name} = (SELECT SUM(o.{name}) FROM vend_daily_totals o WHERE {same_key})"
                     for name in AMOUNTS)
    op.execute(f"UPDATE vend_daily_totals SET {sums} WHERE slot = {lowest}")
    op.execute(f"DELETE FROM vend_daily_totals WHERE slot > {lowest}")
    with op.batch_alter_table('vend_daily_totals') as batch:
        batch.drop_constraint('uq_vend_daily_totals_key', type_='unique')
        batch.drop_column('slot')
        batch.create_unique_constraint('uq_vend_daily_totals_key', KEY)
