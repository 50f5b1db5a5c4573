"""report aggregates: daily vend totals and each meter's last sale

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

from stron_tui.db.types import Money, Units, UTCDateTime


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vend_daily_totals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('operator_key', sa.Integer(), nullable=False),
    sa.Column('utility', sa.Unicode(length=20), nullable=False),
    sa.Column('payment_type', sa.Unicode(length=20), nullable=False),
    sa.Column('paid_currency', sa.Unicode(length=3), nullable=False),
    sa.Column('currency', sa.Unicode(length=3), nullable=False),
    sa.Column('vend_count', sa.Integer(), nullable=False),
    sa.Column('paid_amount', Money(), nullable=False),
    sa.Column('gross_amount', Money(), nullable=False),
    sa.Column('vat_amount', Money(), nullable=False),
    sa.Column('excise_amount', Money(), nullable=False),
    sa.Column('net_amount', Money(), nullable=False),
    sa.Column('units', Units(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_vend_daily_totals_district_id_districts')),
    sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name=op.f('fk_vend_daily_totals_station_id_sales_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vend_daily_totals')),
    sa.UniqueConstraint('business_date', 'station_id', 'operator_key', 'district_id', 'utility', 'payment_type',
                        'paid_currency', 'currency', name='uq_vend_daily_totals_key')
    )
    op.create_index('ix_vend_daily_totals_station_date', 'vend_daily_totals', ['station_id', 'business_date'], unique=False)
    op.create_index('ix_vend_daily_totals_operator_date', 'vend_daily_totals', ['operator_key', 'business_date'], unique=False)
    op.create_table('meter_vend_activity',
    sa.Column('meter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_business_date', sa.Date(), nullable=False),
    sa.Column('last_created_at', UTCDateTime(), nullable=False),
    sa.Column('vend_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_meter_vend_activity_meter_id_meters')),
    sa.PrimaryKeyConstraint('meter_id', name=op.f('pk_meter_vend_activity'))
    )
    op.create_index(op.f('ix_meter_vend_activity_last_business_date'), 'meter_vend_activity', ['last_business_date'], unique=False)
    # Sales recorded before this revision are summed once here; from now on each
    # vend adds itself in its own transaction.
    op.execute(
        "INSERT INTO vend_daily_totals (business_date, station_id, district_id, operator_key, utility, payment_type,"
        " paid_currency, currency, vend_count, paid_amount, gross_amount, vat_amount, excise_amount, net_amount, units)"
        " SELECT business_date, station_id, district_id, COALESCE(operator_id, 0), utility, payment_type,"
        " paid_currency, currency, COUNT(*), SUM(paid_amount), SUM(gross_amount), SUM(vat_amount),"
        " SUM(excise_amount), SUM(net_amount), SUM(units) FROM vends"
        " GROUP BY business_date, station_id, district_id, COALESCE(operator_id, 0), utility, payment_type,"
        " paid_currency, currency"
    )
    op.execute(
        "INSERT INTO meter_vend_activity (meter_id, last_business_date, last_created_at, vend_count)"
        " SELECT meter_id, MAX(business_date), MAX(created_at), COUNT(*) FROM vends GROUP BY meter_id"
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_meter_vend_activity_last_business_date'), table_name='meter_vend_activity')
    op.drop_table('meter_vend_activity')
    op.drop_index('ix_vend_daily_totals_operator_date', table_name='vend_daily_totals')
    op.drop_index('ix_vend_daily_totals_station_date', table_name='vend_daily_totals')
    op.drop_table('vend_daily_totals')
