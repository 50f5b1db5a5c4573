"""daily totals count reversals: a reversal count per row, and the amounts net of the reversals already recorded

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

KEY = ['business_date', 'station_id', 'operator_key', 'district_id', 'utility', 'payment_type', 'paid_currency',
       'currency', 'slot']
AMOUNTS = ['paid_amount', 'gross_amount', 'vat_amount', 'excise_amount', 'net_amount', 'units']
DAILY_SLOTS = 8  # services/reports/aggregates.py: sales without an operator spread over 8 rows per key

# Each reversal under its sale's daily key, on the reversal's own business day (as the program books it).
REVERSED = (
    "SELECT r.business_date AS business_date, v.station_id AS station_id, COALESCE(v.operator_id, 0) AS operator_key,"
    " v.district_id AS district_id, v.utility AS utility, v.payment_type AS payment_type,"
    " v.paid_currency AS paid_currency, v.currency AS currency,"
    f" CASE WHEN v.operator_id IS NULL THEN v.id % {DAILY_SLOTS} ELSE 0 END AS slot,"
    " r.paid_amount AS paid_amount, r.gross_amount AS gross_amount, v.vat_amount AS vat_amount,"
    " v.excise_amount AS excise_amount, v.net_amount AS net_amount, r.units AS units"
    " FROM reversals r JOIN vends v ON v.id = r.vend_id"
)
SAME_KEY = " AND ".join(f"rv.{name} = vend_daily_totals.{name}" for name in KEY)


def _apply_reversals(sign: str) -> None:
    """Take the recorded reversals off the day rows ("-") or put them back ("+")."""
    counted = "+" if sign == "-" else "-"
    sums = ", ".join(f"{name} = {name} {sign} (SELECT COALESCE(SUM(rv.{name}), 0) FROM ({REVERSED}) rv "
                     f"WHERE {SAME_KEY})" for name in AMOUNTS)
    count = (f"reversal_count = reversal_count {counted} (SELECT COUNT(*) FROM ({REVERSED}) rv WHERE {SAME_KEY})")
    op.execute(f"UPDATE vend_daily_totals SET {count}, {sums} WHERE EXISTS (SELECT 1 FROM ({REVERSED}) rv "
               f"WHERE {SAME_KEY})")


def upgrade() -> None:
    with op.batch_alter_table('vend_daily_totals') as batch:
        batch.add_column(sa.Column('reversal_count', sa.Integer(), nullable=False, server_default='0'))
    # A reversal on a day its key sold nothing gets a row of its own (no sales, negative amounts).
    keys = ", ".join(KEY)
    zeros = ", ".join("0" for _ in AMOUNTS)
    op.execute(
        f"INSERT INTO vend_daily_totals ({keys}, vend_count, reversal_count, {', '.join(AMOUNTS)}) "
        f"SELECT DISTINCT {', '.join(f'rv.{name}' for name in KEY)}, 0, 0, {zeros} FROM ({REVERSED}) rv "
        f"WHERE NOT EXISTS (SELECT 1 FROM vend_daily_totals WHERE {SAME_KEY})")
    _apply_reversals("-")


def downgrade() -> None:
    _apply_reversals("+")
    op.execute("DELETE FROM vend_daily_totals WHERE vend_count = 0")
    with op.batch_alter_table('vend_daily_totals') as batch:
        batch.drop_column('reversal_count')
