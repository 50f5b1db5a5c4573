"""cash control: shifts and their counts, reversals (sales marked reversed), vendor floats and their entries

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

from stron_tui.db.types import Money, Rate, Units, UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None



def _where(condition: str) -> dict:
    return {f'{dialect}_where': sa.text(condition) for dialect in ('sqlite', 'postgresql', 'mssql')}


def upgrade() -> None:
    # Native ADD COLUMN (nullable, no default) on every backend: no copy of the large vends table.
    op.add_column('vends', sa.Column('reversed_at', UTCDateTime(), nullable=True))

    op.create_table(
        'reversals',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(start=1), nullable=False),
        sa.Column('reversal_number', sa.Unicode(24), nullable=False),
        sa.Column('request_id', sa.Unicode(64), nullable=False),
        sa.Column('vend_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('source', sa.Unicode(8), nullable=False),
        sa.Column('operator_id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Unicode(200), nullable=False),
        sa.Column('token_declared_unused', sa.Boolean(), nullable=False),
        sa.Column('payment_type', sa.Unicode(20), nullable=False),
        sa.Column('paid_currency', sa.Unicode(3), nullable=False),
        sa.Column('paid_amount', Money(), nullable=False),
        sa.Column('currency', sa.Unicode(3), nullable=False),
        sa.Column('gross_amount', Money(), nullable=False),
        sa.Column('units', Units(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_reversals'),
        sa.UniqueConstraint('reversal_number', name='uq_reversals_reversal_number'),
        sa.UniqueConstraint('vend_id', name='uq_reversals_vend_id'),
        sa.UniqueConstraint('operator_id', 'request_id', name='uq_reversals_operator_request'),
        sa.ForeignKeyConstraint(['vend_id'], ['vends.id'], name='fk_reversals_vend_id_vends'),
        sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name='fk_reversals_operator_id_users'),
        sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name='fk_reversals_station_id_sales_stations'),
    )
    op.create_index('ix_reversals_business_date_station', 'reversals', ['business_date', 'station_id'])
    op.create_index('ix_reversals_created', 'reversals', ['created_at'])

    op.create_table(
        'vendor_floats',
        sa.Column('id', sa.Integer(), sa.Identity(start=1), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=True),
        sa.Column('api_account_id', sa.Integer(), nullable=True),
        sa.Column('currency', sa.Unicode(3), nullable=False),
        sa.Column('balance', Money(), nullable=False),
        sa.Column('credit_limit', Money(), nullable=False),
        sa.Column('commission_rate', Rate(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_vendor_floats'),
        sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name='fk_vendor_floats_station_id_sales_stations'),
        sa.ForeignKeyConstraint(['api_account_id'], ['api_accounts.id'],
                                name='fk_vendor_floats_api_account_id_api_accounts'),
        sa.ForeignKeyConstraint(['currency'], ['currencies.code'], name='fk_vendor_floats_currency_currencies'),
        sa.CheckConstraint('(station_id IS NULL AND api_account_id IS NOT NULL) OR '
                           '(station_id IS NOT NULL AND api_account_id IS NULL)', name='ck_vendor_floats_one_vendor'),
        sa.CheckConstraint('credit_limit >= 0', name='ck_vendor_floats_credit_limit'),
        sa.CheckConstraint('commission_rate >= 0 AND commission_rate < 1', name='ck_vendor_floats_commission_rate'),
    )
    op.create_index('uq_vendor_floats_station', 'vendor_floats', ['station_id'], unique=True,
                    **_where('station_id IS NOT NULL'))
    op.create_index('uq_vendor_floats_api_account', 'vendor_floats', ['api_account_id'], unique=True,
                    **_where('api_account_id IS NOT NULL'))

    op.create_table(
        'vendor_float_entries',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(start=1), nullable=False),
        sa.Column('float_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('kind', sa.Unicode(12), nullable=False),
        sa.Column('amount', Money(), nullable=False),
        sa.Column('commission', Money(), nullable=False),
        sa.Column('balance_after', Money(), nullable=False),
        sa.Column('reference', sa.Unicode(24), nullable=False),
        sa.Column('reason', sa.Unicode(200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_vendor_float_entries'),
        sa.ForeignKeyConstraint(['float_id'], ['vendor_floats.id'], name='fk_vendor_float_entries_float_id_vendor_floats'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_vendor_float_entries_user_id_users'),
        sa.CheckConstraint("kind IN ('deposit', 'adjustment', 'sale', 'reversal')", name='ck_vendor_float_entries_kind'),
    )
    op.create_index('ix_vendor_float_entries_float_created', 'vendor_float_entries', ['float_id', 'created_at'])

    op.create_table(
        'shifts',
        sa.Column('id', sa.Integer(), sa.Identity(start=1), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Unicode(10), nullable=False),
        sa.Column('opened_at', UTCDateTime(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.Column('signed_off_at', UTCDateTime(), nullable=True),
        sa.Column('signed_off_by', sa.Integer(), nullable=True),
        sa.Column('note', sa.Unicode(400), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_shifts'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_shifts_user_id_users'),
        sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name='fk_shifts_station_id_sales_stations'),
        sa.ForeignKeyConstraint(['signed_off_by'], ['users.id'], name='fk_shifts_signed_off_by_users'),
        sa.CheckConstraint("status IN ('open', 'closed', 'signed')", name='ck_shifts_status'),
    )
    op.create_index('uq_shifts_open_user', 'shifts', ['user_id'], unique=True, **_where("status = 'open'"))
    op.create_index('ix_shifts_station_opened', 'shifts', ['station_id', 'opened_at'])
    op.create_index('ix_shifts_user_opened', 'shifts', ['user_id', 'opened_at'])

    op.create_table(
        'shift_counts',
        sa.Column('shift_id', sa.Integer(), nullable=False),
        sa.Column('payment_type', sa.Unicode(20), nullable=False),
        sa.Column('currency', sa.Unicode(3), nullable=False),
        sa.Column('opening_float', Money(), nullable=False),
        sa.Column('expected', Money(), nullable=True),
        sa.Column('declared', Money(), nullable=True),
        sa.PrimaryKeyConstraint('shift_id', 'payment_type', 'currency', name='pk_shift_counts'),
        sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name='fk_shift_counts_shift_id_shifts'),
    )

    # The seeded cashier role may open and close its own shift (selling needs one at a station).
    roles = sa.table('roles', sa.column('id', sa.Integer), sa.column('name_key', sa.Unicode(60)))
    grants = sa.table('role_permissions', sa.column('role_id', sa.Integer), sa.column('permission', sa.Unicode(60)))
    op.execute(grants.insert().from_select(
        ['role_id', 'permission'],
        sa.select(roles.c.id, sa.literal('topup.shift', sa.Unicode(60))).where(roles.c.name_key == 'onlyvending')))


def downgrade() -> None:
    grants = sa.table('role_permissions', sa.column('permission', sa.Unicode(60)))
    op.execute(grants.delete().where(grants.c.permission.in_(
        ['topup.shift', 'topup.reverse', 'reports.shift_sign_off', 'system.vendor_floats', 'reports.vendor_statements'])))
    op.drop_table('shift_counts')
    op.drop_index('ix_shifts_user_opened', table_name='shifts')
    op.drop_index('ix_shifts_station_opened', table_name='shifts')
    op.drop_index('uq_shifts_open_user', table_name='shifts')
    op.drop_table('shifts')
    op.drop_index('ix_vendor_float_entries_float_created', table_name='vendor_float_entries')
    op.drop_table('vendor_float_entries')
    op.drop_index('uq_vendor_floats_api_account', table_name='vendor_floats')
    op.drop_index('uq_vendor_floats_station', table_name='vendor_floats')
    op.drop_table('vendor_floats')
    op.drop_index('ix_reversals_created', table_name='reversals')
    op.drop_index('ix_reversals_business_date_station', table_name='reversals')
    op.drop_table('reversals')
    if op.get_context().dialect.name == 'sqlite':
        op.execute('ALTER TABLE vends DROP COLUMN reversed_at')  # native: a batch copy would break foreign keys
    else:
        op.drop_column('vends', 'reversed_at')
