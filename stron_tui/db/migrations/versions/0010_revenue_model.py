"""the revenue model: tariff versions and blocks, fixed charges, debt, free units, caps

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

from stron_tui.db.types import BigId, Money, Rate, Units, UTCDateTime


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TARIFF_COLUMNS = (
    ('fixed_charge_vat', lambda: sa.Column('fixed_charge_vat', sa.Boolean(), nullable=False,
                                           server_default=sa.false())),
    ('charge_accrue_months', lambda: sa.Column('charge_accrue_months', sa.SmallInteger(), nullable=False,
                                               server_default='0')),
    ('cap_units_day', lambda: sa.Column('cap_units_day', Units(), nullable=True)),
    ('cap_units_month', lambda: sa.Column('cap_units_month', Units(), nullable=True)),
    ('cap_money_day', lambda: sa.Column('cap_money_day', Money(), nullable=True)),
    ('cap_money_month', lambda: sa.Column('cap_money_month', Money(), nullable=True)),
)


def _zero(name, kind):
    return lambda: sa.Column(name, kind(), nullable=False, server_default='0')


def _null(name, kind):
    return lambda: sa.Column(name, kind, nullable=True)


ACCOUNT_COLUMNS = (
    ('debt_balance', _zero('debt_balance', Money)),
    ('recovery_percent', _zero('recovery_percent', Rate)),
    ('recovery_fixed', _zero('recovery_fixed', Money)),
    ('recovery_month_limit', _null('recovery_month_limit', Money())),
    ('recovery_min_energy', _zero('recovery_min_energy', Money)),
    ('free_units', _zero('free_units', Units)),
    ('free_issued_month', _null('free_issued_month', sa.Unicode(7))),
    ('usage_month', _null('usage_month', sa.Unicode(7))),
    ('month_units', _zero('month_units', Units)),
    ('month_money', _zero('month_money', Money)),
    ('month_recovered', _zero('month_recovered', Money)),
    ('usage_day', _null('usage_day', sa.Unicode(10))),
    ('day_units', _zero('day_units', Units)),
    ('day_money', _zero('day_money', Money)),
    ('charge_paid_month', _null('charge_paid_month', sa.Unicode(7))),
    ('charge_part_paid', _zero('charge_part_paid', Money)),
)

VEND_COLUMNS = (
    ('tariff_version_id', _null('tariff_version_id', sa.Integer())),
    ('debt_recovered', _zero('debt_recovered', Money)),
    ('debt_after', _zero('debt_after', Money)),
    ('fixed_charge', _zero('fixed_charge', Money)),
    ('fixed_charge_months', lambda: sa.Column('fixed_charge_months', sa.SmallInteger(), nullable=False,
                                              server_default='0')),
    ('energy_amount', _null('energy_amount', Money())),
    ('free_units', _zero('free_units', Units)),
    ('free_token', lambda: sa.Column('free_token', sa.Unicode(20), nullable=False, server_default='')),
    ('free_tid', _null('free_tid', sa.Integer())),
    ('subsidy_amount', _zero('subsidy_amount', Money)),
)

ADDED = (('tariffs', TARIFF_COLUMNS), ('accounts', ACCOUNT_COLUMNS), ('vends', VEND_COLUMNS))


def upgrade() -> None:
    for table, columns in ADDED:
        # Plain columns without constraints: SQLite adds them in place (no copy of a table others refer to).
        with op.batch_alter_table(table) as batch:
            for _, column in columns:
                batch.add_column(column())
    op.create_table(
        'tariff_versions',
        sa.Column('id', sa.Integer(), sa.Identity(start=1), nullable=False),
        sa.Column('tariff_id', sa.Integer(), nullable=False),
        sa.Column('effective_from', UTCDateTime(), nullable=False),
        sa.Column('fixed_charge', Money(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.CheckConstraint('fixed_charge >= 0', name='ck_tariff_versions_fixed_charge'),
        sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name='fk_tariff_versions_tariff_id_tariffs'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name='fk_tariff_versions_created_by_users'),
        sa.PrimaryKeyConstraint('id', name='pk_tariff_versions'),
        sa.UniqueConstraint('tariff_id', 'effective_from', name='uq_tariff_versions_tariff_id_effective_from'),
    )
    op.create_table(
        'tariff_blocks',
        sa.Column('id', sa.Integer(), sa.Identity(start=1), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.SmallInteger(), nullable=False),
        sa.Column('up_to', Units(), nullable=True),
        sa.Column('price_per_unit', Rate(), nullable=False),
        sa.CheckConstraint('price_per_unit > 0', name='ck_tariff_blocks_price_positive'),
        sa.ForeignKeyConstraint(['version_id'], ['tariff_versions.id'],
                                name='fk_tariff_blocks_version_id_tariff_versions'),
        sa.PrimaryKeyConstraint('id', name='pk_tariff_blocks'),
        sa.UniqueConstraint('version_id', 'position', name='uq_tariff_blocks_version_id_position'),
    )
    op.create_table(
        'vend_blocks',
        sa.Column('vend_id', BigId, nullable=False),
        sa.Column('position', sa.SmallInteger(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('tariff_id', sa.Integer(), nullable=False),
        sa.Column('units', Units(), nullable=False),
        sa.Column('price_all_in', Rate(), nullable=False),
        sa.Column('amount', Money(), nullable=False),
        sa.ForeignKeyConstraint(['vend_id'], ['vends.id'], name='fk_vend_blocks_vend_id_vends'),
        sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name='fk_vend_blocks_tariff_id_tariffs'),
        sa.PrimaryKeyConstraint('vend_id', 'position', name='pk_vend_blocks'),
    )
    op.create_index('ix_vend_blocks_date_tariff', 'vend_blocks', ['business_date', 'tariff_id'])
    op.create_table(
        'debt_entries',
        sa.Column('id', BigId, sa.Identity(start=1), nullable=False),
        sa.Column('account_id', BigId, nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('kind', sa.Unicode(12), nullable=False),
        sa.Column('amount', Money(), nullable=False),
        sa.Column('balance_after', Money(), nullable=False),
        sa.Column('reason', sa.Unicode(200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('api_account_id', sa.Integer(), nullable=True),
        sa.Column('station_id', sa.Integer(), nullable=True),
        sa.Column('district_id', sa.Integer(), nullable=True),
        sa.Column('vend_id', BigId, nullable=True),
        sa.Column('receipt_number', sa.Unicode(24), nullable=False),
        sa.CheckConstraint("kind IN ('added', 'adjusted', 'written_off', 'imported', 'recovered', 'paid')",
                           name='ck_debt_entries_kind'),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name='fk_debt_entries_account_id_accounts'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_debt_entries_user_id_users'),
        sa.ForeignKeyConstraint(['api_account_id'], ['api_accounts.id'],
                                name='fk_debt_entries_api_account_id_api_accounts'),
        sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'],
                                name='fk_debt_entries_station_id_sales_stations'),
        sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name='fk_debt_entries_district_id_districts'),
        sa.ForeignKeyConstraint(['vend_id'], ['vends.id'], name='fk_debt_entries_vend_id_vends'),
        sa.PrimaryKeyConstraint('id', name='pk_debt_entries'),
    )
    op.create_index('ix_debt_entries_account', 'debt_entries', ['account_id', 'created_at'])
    op.create_index('ix_debt_entries_date', 'debt_entries', ['business_date'])


def downgrade() -> None:
    op.drop_index('ix_debt_entries_date', table_name='debt_entries')
    op.drop_index('ix_debt_entries_account', table_name='debt_entries')
    op.drop_table('debt_entries')
    op.drop_index('ix_vend_blocks_date_tariff', table_name='vend_blocks')
    op.drop_table('vend_blocks')
    op.drop_table('tariff_blocks')
    op.drop_table('tariff_versions')
    sqlite = op.get_context().dialect.name == 'sqlite'
    for table, columns in reversed(ADDED):
        for name, _ in reversed(columns):
            if sqlite:
                # Native DROP COLUMN (SQLite 3.35+): a batch copy would break every foreign key to the table.
                op.execute(f'ALTER TABLE {table} DROP COLUMN {name}')
            else:
                op.drop_column(table, name, mssql_drop_default=True)
