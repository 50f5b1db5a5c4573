"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa

from stron_tui.db.types import Money, Rate, Units, UTCDateTime


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_meta',
    sa.Column('name', sa.Unicode(length=64), nullable=False),
    sa.Column('value', sa.Unicode(length=400), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_app_meta'))
    )
    op.create_table('currencies',
    sa.Column('code', sa.Unicode(length=3), nullable=False),
    sa.Column('name', sa.Unicode(length=60), nullable=False),
    sa.Column('symbol', sa.Unicode(length=8), nullable=False),
    sa.Column('minor_unit', sa.SmallInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('minor_unit BETWEEN 0 AND 4', name=op.f('ck_currencies_minor_unit')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_currencies'))
    )
    op.create_table('districts',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('code', sa.Unicode(length=20), nullable=False),
    sa.Column('code_key', sa.Unicode(length=20).with_variant(sa.Unicode(length=20, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.Unicode(length=100), nullable=False),
    sa.Column('name_key', sa.Unicode(length=100).with_variant(sa.Unicode(length=100, collation='C'), 'postgresql'), nullable=False),
    sa.Column('kind', sa.Unicode(length=40), nullable=False),
    sa.Column('description', sa.Unicode(length=400), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_districts')),
    sa.UniqueConstraint('code_key', name=op.f('uq_districts_code_key'))
    )
    op.create_index(op.f('ix_districts_name_key'), 'districts', ['name_key'], unique=False)

    op.create_table('meters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('meter_number', sa.Unicode(length=13).with_variant(sa.Unicode(length=13, collation='C'), 'postgresql'), nullable=False),
    sa.Column('meter_type', sa.Unicode(length=30), nullable=False),
    sa.Column('utility', sa.Unicode(length=20), nullable=False),
    sa.Column('status', sa.Unicode(length=12), nullable=False),
    sa.Column('sgc', sa.Unicode(length=6), nullable=False),
    sa.Column('ti', sa.SmallInteger(), nullable=False),
    sa.Column('krn', sa.SmallInteger(), nullable=False),
    sa.Column('kt', sa.SmallInteger(), nullable=False),
    sa.Column('ea', sa.Unicode(length=2), nullable=False),
    sa.Column('dkga', sa.Unicode(length=2), nullable=False),
    sa.Column('base_date', sa.SmallInteger(), nullable=False),
    sa.Column('ken', sa.SmallInteger(), nullable=False),
    sa.Column('installed_sgc', sa.Unicode(length=6), nullable=False),
    sa.Column('installed_ti', sa.SmallInteger(), nullable=False),
    sa.Column('installed_krn', sa.SmallInteger(), nullable=False),
    sa.Column('installed_kt', sa.SmallInteger(), nullable=False),
    sa.Column('installed_ea', sa.Unicode(length=2), nullable=False),
    sa.Column('installed_dkga', sa.Unicode(length=2), nullable=False),
    sa.Column('installed_base_date', sa.SmallInteger(), nullable=False),
    sa.Column('installed_ken', sa.SmallInteger(), nullable=False),
    sa.Column('last_tid', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'inactive', 'faulty', 'retired')", name=op.f('ck_meters_status')),
    sa.CheckConstraint('base_date IN (1993, 2014, 2035)', name=op.f('ck_meters_base_date')),
    sa.CheckConstraint('installed_base_date IN (1993, 2014, 2035)', name=op.f('ck_meters_installed_base_date')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meters')),
    sa.UniqueConstraint('meter_number', name=op.f('uq_meters_meter_number'))
    )
    op.create_index('ix_meters_sgc_krn', 'meters', ['sgc', 'krn'], unique=False)

    op.create_table('payment_types',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('code', sa.Unicode(length=20), nullable=False),
    sa.Column('name', sa.Unicode(length=60), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_types')),
    sa.UniqueConstraint('code', name=op.f('uq_payment_types_code'))
    )
    op.create_table('roles',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('name', sa.Unicode(length=60), nullable=False),
    sa.Column('name_key', sa.Unicode(length=60).with_variant(sa.Unicode(length=60, collation='C'), 'postgresql'), nullable=False),
    sa.Column('description', sa.Unicode(length=200), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('name_key', name=op.f('uq_roles_name_key'))
    )
    op.create_table('vending_keys',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('sgc', sa.Unicode(length=6), nullable=False),
    sa.Column('krn', sa.SmallInteger(), nullable=False),
    sa.Column('dkga', sa.Unicode(length=2), nullable=False),
    sa.Column('label', sa.Unicode(length=100), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vending_keys')),
    sa.UniqueConstraint('sgc', 'krn', name='uq_vending_keys_sgc_krn')
    )
    op.create_table('customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('code', sa.Unicode(length=30), nullable=False),
    sa.Column('code_key', sa.Unicode(length=30).with_variant(sa.Unicode(length=30, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.Unicode(length=120), nullable=False),
    sa.Column('name_key', sa.Unicode(length=120).with_variant(sa.Unicode(length=120, collation='C'), 'postgresql'), nullable=False),
    sa.Column('address', sa.Unicode(length=200), nullable=False),
    sa.Column('phone', sa.Unicode(length=40), nullable=False),
    sa.Column('phone_key', sa.Unicode(length=40).with_variant(sa.Unicode(length=40, collation='C'), 'postgresql'), nullable=False),
    sa.Column('email', sa.Unicode(length=120), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_customers_district_id_districts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('code_key', name=op.f('uq_customers_code_key'))
    )
    op.create_index(op.f('ix_customers_district_id'), 'customers', ['district_id'], unique=False)
    op.create_index(op.f('ix_customers_name_key'), 'customers', ['name_key'], unique=False)
    op.create_index(op.f('ix_customers_phone_key'), 'customers', ['phone_key'], unique=False)

    op.create_table('role_permissions',
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('permission', sa.Unicode(length=60), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_role_permissions_role_id_roles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'permission', name=op.f('pk_role_permissions'))
    )
    op.create_table('sales_stations',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('code', sa.Unicode(length=20), nullable=False),
    sa.Column('code_key', sa.Unicode(length=20).with_variant(sa.Unicode(length=20, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.Unicode(length=100), nullable=False),
    sa.Column('name_key', sa.Unicode(length=100).with_variant(sa.Unicode(length=100, collation='C'), 'postgresql'), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.Unicode(length=200), nullable=False),
    sa.Column('phone', sa.Unicode(length=40), nullable=False),
    sa.Column('receipt_width', sa.SmallInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('receipt_width IN (40, 80)', name=op.f('ck_sales_stations_receipt_width')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_sales_stations_district_id_districts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_stations')),
    sa.UniqueConstraint('code_key', name=op.f('uq_sales_stations_code_key'))
    )
    op.create_index(op.f('ix_sales_stations_district_id'), 'sales_stations', ['district_id'], unique=False)
    op.create_index(op.f('ix_sales_stations_name_key'), 'sales_stations', ['name_key'], unique=False)

    op.create_table('tariffs',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('name', sa.Unicode(length=100), nullable=False),
    sa.Column('name_key', sa.Unicode(length=100).with_variant(sa.Unicode(length=100, collation='C'), 'postgresql'), nullable=False),
    sa.Column('utility', sa.Unicode(length=20), nullable=False),
    sa.Column('unit', sa.Unicode(length=10), nullable=False),
    sa.Column('price_per_unit', Rate(precision=18, scale=6), nullable=False),
    sa.Column('currency_code', sa.Unicode(length=3), nullable=False),
    sa.Column('vat_rate', Rate(precision=18, scale=6), nullable=False),
    sa.Column('excise_rate', Rate(precision=18, scale=6), nullable=False),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('min_purchase', Money(precision=18, scale=4), nullable=False),
    sa.Column('max_purchase', Money(precision=18, scale=4), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('price_per_unit > 0', name=op.f('ck_tariffs_price_positive')),
    sa.CheckConstraint('vat_rate >= 0 AND excise_rate >= 0', name=op.f('ck_tariffs_rates_not_negative')),
    sa.ForeignKeyConstraint(['currency_code'], ['currencies.code'], name=op.f('fk_tariffs_currency_code_currencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariffs')),
    sa.UniqueConstraint('name_key', name=op.f('uq_tariffs_name_key'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('account_number', sa.Unicode(length=30).with_variant(sa.Unicode(length=30, collation='C'), 'postgresql'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('meter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Unicode(length=10), nullable=False),
    sa.Column('opened_at', UTCDateTime(), nullable=False),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_accounts_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_accounts_customer_id_customers')),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_accounts_meter_id_meters')),
    sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name=op.f('fk_accounts_station_id_sales_stations')),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name=op.f('fk_accounts_tariff_id_tariffs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('account_number', name=op.f('uq_accounts_account_number'))
    )
    op.create_index(op.f('ix_accounts_customer_id'), 'accounts', ['customer_id'], unique=False)
    op.create_index(op.f('ix_accounts_meter_id'), 'accounts', ['meter_id'], unique=False)
    op.create_index(op.f('ix_accounts_station_id'), 'accounts', ['station_id'], unique=False)
    op.create_index(op.f('ix_accounts_tariff_id'), 'accounts', ['tariff_id'], unique=False)
    op.create_index('uq_accounts_open_meter', 'accounts', ['meter_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"), mssql_where=sa.text("status = 'open'"))

    op.create_table('api_accounts',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('name', sa.Unicode(length=60), nullable=False),
    sa.Column('name_key', sa.Unicode(length=60).with_variant(sa.Unicode(length=60, collation='C'), 'postgresql'), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('key_prefix', sa.Unicode(length=16), nullable=False),
    sa.Column('key_hash', sa.Unicode(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('rate_limit_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('rotated_at', UTCDateTime(), nullable=True),
    sa.Column('last_used_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_api_accounts_role_id_roles')),
    sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name=op.f('fk_api_accounts_station_id_sales_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_accounts')),
    sa.UniqueConstraint('key_prefix', name=op.f('uq_api_accounts_key_prefix')),
    sa.UniqueConstraint('name_key', name=op.f('uq_api_accounts_name_key'))
    )
    op.create_index(op.f('ix_api_accounts_role_id'), 'api_accounts', ['role_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('user_code', sa.Unicode(length=40), nullable=False),
    sa.Column('user_key', sa.Unicode(length=40).with_variant(sa.Unicode(length=40, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.Unicode(length=100), nullable=False),
    sa.Column('phone', sa.Unicode(length=40), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.Unicode(length=200), nullable=True),
    sa.Column('payment_password_hash', sa.Unicode(length=200), nullable=True),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('must_change_payment_password', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', UTCDateTime(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('builtin_admin', sa.Boolean(), nullable=False),
    sa.Column('last_login_at', UTCDateTime(), nullable=True),
    sa.Column('password_changed_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_users_role_id_roles')),
    sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name=op.f('fk_users_station_id_sales_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('user_key', name=op.f('uq_users_user_key'))
    )
    op.create_index(op.f('ix_users_role_id'), 'users', ['role_id'], unique=False)
    op.create_index(op.f('ix_users_station_id'), 'users', ['station_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.Column('source', sa.Unicode(length=8), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_code', sa.Unicode(length=40), nullable=False),
    sa.Column('api_account_id', sa.Integer(), nullable=True),
    sa.Column('remote', sa.Unicode(length=80), nullable=False),
    sa.Column('action', sa.Unicode(length=40), nullable=False),
    sa.Column('entity', sa.Unicode(length=40), nullable=False),
    sa.Column('entity_id', sa.Unicode(length=40), nullable=False),
    sa.Column('summary', sa.Unicode(length=400), nullable=False),
    sa.Column('detail', sa.UnicodeText(), nullable=False),
    sa.ForeignKeyConstraint(['api_account_id'], ['api_accounts.id'], name=op.f('fk_audit_log_api_account_id_api_accounts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_action_occurred', 'audit_log', ['action', 'occurred_at'], unique=False)
    op.create_index('ix_audit_log_occurred', 'audit_log', ['occurred_at'], unique=False)
    op.create_index('ix_audit_log_user_occurred', 'audit_log', ['user_id', 'occurred_at'], unique=False)

    op.create_table('exchange_rates',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('from_currency', sa.Unicode(length=3), nullable=False),
    sa.Column('to_currency', sa.Unicode(length=3), nullable=False),
    sa.Column('rate', Rate(precision=18, scale=6), nullable=False),
    sa.Column('effective_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('rate > 0', name=op.f('ck_exchange_rates_rate_positive')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_exchange_rates_created_by_users')),
    sa.ForeignKeyConstraint(['from_currency'], ['currencies.code'], name=op.f('fk_exchange_rates_from_currency_currencies')),
    sa.ForeignKeyConstraint(['to_currency'], ['currencies.code'], name=op.f('fk_exchange_rates_to_currency_currencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates'))
    )
    op.create_index('ix_exchange_rates_pair', 'exchange_rates', ['from_currency', 'to_currency', 'effective_at'], unique=False)

    op.create_table('management_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('transaction_number', sa.Unicode(length=24), nullable=False),
    sa.Column('receipt_number', sa.Unicode(length=24), nullable=False),
    sa.Column('request_id', sa.Unicode(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('source', sa.Unicode(length=8), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('api_account_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('meter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('meter_number', sa.Unicode(length=13), nullable=False),
    sa.Column('kind', sa.Unicode(length=24), nullable=False),
    sa.Column('subclass', sa.SmallInteger(), nullable=False),
    sa.Column('field_value', sa.Integer(), nullable=True),
    sa.Column('register', sa.SmallInteger(), nullable=True),
    sa.Column('reason', sa.Unicode(length=200), nullable=False),
    sa.Column('token', sa.Unicode(length=100), nullable=False),
    sa.Column('tid', sa.Integer(), nullable=True),
    sa.Column('key_change_tokens', sa.Unicode(length=100), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_management_tokens_account_id_accounts')),
    sa.ForeignKeyConstraint(['api_account_id'], ['api_accounts.id'], name=op.f('fk_management_tokens_api_account_id_api_accounts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_management_tokens_customer_id_customers')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_management_tokens_district_id_districts')),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_management_tokens_meter_id_meters')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_management_tokens_operator_id_users')),
    sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name=op.f('fk_management_tokens_station_id_sales_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_tokens')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_management_tokens_receipt_number')),
    sa.UniqueConstraint('request_id', name=op.f('uq_management_tokens_request_id')),
    sa.UniqueConstraint('transaction_number', name=op.f('uq_management_tokens_transaction_number'))
    )
    op.create_index('ix_management_tokens_kind_created', 'management_tokens', ['kind', 'created_at'], unique=False)
    op.create_index('ix_management_tokens_meter', 'management_tokens', ['meter_id', 'created_at'], unique=False)
    op.create_index('ix_management_tokens_operator_date', 'management_tokens', ['operator_id', 'business_date'], unique=False)

    op.create_table('receipt_prints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('receipt_number', sa.Unicode(length=24), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('api_account_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.Unicode(length=8), nullable=False),
    sa.ForeignKeyConstraint(['api_account_id'], ['api_accounts.id'], name=op.f('fk_receipt_prints_api_account_id_api_accounts')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_receipt_prints_operator_id_users')),
    sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name=op.f('fk_receipt_prints_station_id_sales_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_prints'))
    )
    op.create_index('ix_receipt_prints_operator_date', 'receipt_prints', ['operator_id', 'business_date'], unique=False)
    op.create_index(op.f('ix_receipt_prints_receipt_number'), 'receipt_prints', ['receipt_number'], unique=False)

    op.create_table('user_public_keys',
    sa.Column('id', sa.Integer(), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.Unicode(length=100), nullable=False),
    sa.Column('public_key', sa.UnicodeText(), nullable=False),
    sa.Column('comment', sa.Unicode(length=200), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_public_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_public_keys')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_user_public_keys_fingerprint'))
    )
    op.create_index(op.f('ix_user_public_keys_user_id'), 'user_public_keys', ['user_id'], unique=False)

    op.create_table('vends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1), nullable=False),
    sa.Column('transaction_number', sa.Unicode(length=24), nullable=False),
    sa.Column('receipt_number', sa.Unicode(length=24), nullable=False),
    sa.Column('request_id', sa.Unicode(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('source', sa.Unicode(length=8), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('api_account_id', sa.Integer(), nullable=True),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('meter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('meter_number', sa.Unicode(length=13), nullable=False),
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('tariff_name', sa.Unicode(length=100), nullable=False),
    sa.Column('utility', sa.Unicode(length=20), nullable=False),
    sa.Column('unit', sa.Unicode(length=10), nullable=False),
    sa.Column('price_per_unit', Rate(precision=18, scale=6), nullable=False),
    sa.Column('vat_rate', Rate(precision=18, scale=6), nullable=False),
    sa.Column('excise_rate', Rate(precision=18, scale=6), nullable=False),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('mode', sa.Unicode(length=8), nullable=False),
    sa.Column('payment_type', sa.Unicode(length=20), nullable=False),
    sa.Column('paid_currency', sa.Unicode(length=3), nullable=False),
    sa.Column('paid_amount', Money(precision=18, scale=4), nullable=False),
    sa.Column('exchange_rate', Rate(precision=18, scale=6), nullable=False),
    sa.Column('currency', sa.Unicode(length=3), nullable=False),
    sa.Column('gross_amount', Money(precision=18, scale=4), nullable=False),
    sa.Column('vat_amount', Money(precision=18, scale=4), nullable=False),
    sa.Column('excise_amount', Money(precision=18, scale=4), nullable=False),
    sa.Column('net_amount', Money(precision=18, scale=4), nullable=False),
    sa.Column('units', Units(precision=14, scale=1), nullable=False),
    sa.Column('token', sa.Unicode(length=20), nullable=False),
    sa.Column('tid', sa.Integer(), nullable=False),
    sa.Column('key_change_tokens', sa.Unicode(length=100), nullable=False),
    sa.CheckConstraint("mode IN ('amount', 'units')", name=op.f('ck_vends_mode')),
    sa.CheckConstraint("source IN ('tui', 'ssh', 'api', 'cli')", name=op.f('ck_vends_source')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_vends_account_id_accounts')),
    sa.ForeignKeyConstraint(['api_account_id'], ['api_accounts.id'], name=op.f('fk_vends_api_account_id_api_accounts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_vends_customer_id_customers')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_vends_district_id_districts')),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_vends_meter_id_meters')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_vends_operator_id_users')),
    sa.ForeignKeyConstraint(['station_id'], ['sales_stations.id'], name=op.f('fk_vends_station_id_sales_stations')),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name=op.f('fk_vends_tariff_id_tariffs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vends')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_vends_receipt_number')),
    sa.UniqueConstraint('request_id', name=op.f('uq_vends_request_id')),
    sa.UniqueConstraint('transaction_number', name=op.f('uq_vends_transaction_number'))
    )
    op.create_index('ix_vends_business_date_station', 'vends', ['business_date', 'station_id'], unique=False)
    op.create_index('ix_vends_created', 'vends', ['created_at'], unique=False)
    op.create_index('ix_vends_customer', 'vends', ['customer_id', 'created_at'], unique=False)
    op.create_index('ix_vends_meter_created', 'vends', ['meter_id', 'created_at'], unique=False)
    op.create_index('ix_vends_operator_date', 'vends', ['operator_id', 'business_date'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_vends_operator_date', table_name='vends')
    op.drop_index('ix_vends_meter_created', table_name='vends')
    op.drop_index('ix_vends_customer', table_name='vends')
    op.drop_index('ix_vends_created', table_name='vends')
    op.drop_index('ix_vends_business_date_station', table_name='vends')

    op.drop_table('vends')
    op.drop_index(op.f('ix_user_public_keys_user_id'), table_name='user_public_keys')

    op.drop_table('user_public_keys')
    op.drop_index(op.f('ix_receipt_prints_receipt_number'), table_name='receipt_prints')
    op.drop_index('ix_receipt_prints_operator_date', table_name='receipt_prints')

    op.drop_table('receipt_prints')
    op.drop_index('ix_management_tokens_operator_date', table_name='management_tokens')
    op.drop_index('ix_management_tokens_meter', table_name='management_tokens')
    op.drop_index('ix_management_tokens_kind_created', table_name='management_tokens')

    op.drop_table('management_tokens')
    op.drop_index('ix_exchange_rates_pair', table_name='exchange_rates')

    op.drop_table('exchange_rates')
    op.drop_index('ix_audit_log_user_occurred', table_name='audit_log')
    op.drop_index('ix_audit_log_occurred', table_name='audit_log')
    op.drop_index('ix_audit_log_action_occurred', table_name='audit_log')

    op.drop_table('audit_log')
    op.drop_index(op.f('ix_users_station_id'), table_name='users')
    op.drop_index(op.f('ix_users_role_id'), table_name='users')

    op.drop_table('users')
    op.drop_index(op.f('ix_api_accounts_role_id'), table_name='api_accounts')

    op.drop_table('api_accounts')
    op.drop_index('uq_accounts_open_meter', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"), mssql_where=sa.text("status = 'open'"), table_name='accounts')
    op.drop_index(op.f('ix_accounts_tariff_id'), table_name='accounts')
    op.drop_index(op.f('ix_accounts_station_id'), table_name='accounts')
    op.drop_index(op.f('ix_accounts_meter_id'), table_name='accounts')
    op.drop_index(op.f('ix_accounts_customer_id'), table_name='accounts')

    op.drop_table('accounts')
    op.drop_table('tariffs')
    op.drop_index(op.f('ix_sales_stations_name_key'), table_name='sales_stations')
    op.drop_index(op.f('ix_sales_stations_district_id'), table_name='sales_stations')

    op.drop_table('sales_stations')
    op.drop_table('role_permissions')
    op.drop_index(op.f('ix_customers_phone_key'), table_name='customers')
    op.drop_index(op.f('ix_customers_name_key'), table_name='customers')
    op.drop_index(op.f('ix_customers_district_id'), table_name='customers')

    op.drop_table('customers')
    op.drop_table('vending_keys')
    op.drop_table('roles')
    op.drop_table('payment_types')
    op.drop_index('ix_meters_sgc_krn', table_name='meters')

    op.drop_table('meters')
    op.drop_index(op.f('ix_districts_name_key'), table_name='districts')

    op.drop_table('districts')
    op.drop_table('currencies')
    op.drop_table('app_meta')
