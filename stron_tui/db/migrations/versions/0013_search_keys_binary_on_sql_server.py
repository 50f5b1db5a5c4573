"""search-key columns compare byte-wise on SQL Server (Latin1_General_100_BIN2)

Revision ID: 0013
Revises: 0012

The folded *_key columns (and meter and account numbers) serve prefix ranges
`col >= 'abc' AND col < 'abd'`; under a linguistic, case-insensitive default
collation that range is not a prefix match and the seek is lost. PostgreSQL
has had COLLATE "C" on them from 0001; SQLite compares byte-wise already, so
this revision changes only SQL Server. SQL Server cannot change the collation
of a column that a key or index uses: each is dropped, the column altered and
the key or index made again with its old name.
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BINARY_COLLATION = 'Latin1_General_100_BIN2'

# (table, column, length, unique constraint, indexes on the column alone)
SEARCH_KEYS = (
    ('districts', 'code_key', 20, 'uq_districts_code_key', ()),
    ('districts', 'name_key', 100, None, ('ix_districts_name_key',)),
    ('meters', 'meter_number', 13, 'uq_meters_meter_number', ()),
    ('roles', 'name_key', 60, 'uq_roles_name_key', ()),
    ('customers', 'code_key', 30, 'uq_customers_code_key', ()),
    ('customers', 'name_key', 120, None, ('ix_customers_name_key',)),
    ('customers', 'phone_key', 40, None, ('ix_customers_phone_key',)),
    ('sales_stations', 'code_key', 20, 'uq_sales_stations_code_key', ()),
    ('sales_stations', 'name_key', 100, None, ('ix_sales_stations_name_key',)),
    ('tariffs', 'name_key', 100, 'uq_tariffs_name_key', ()),
    ('accounts', 'account_number', 30, 'uq_accounts_account_number', ()),
    ('api_accounts', 'name_key', 60, 'uq_api_accounts_name_key', ()),
    ('users', 'user_key', 40, 'uq_users_user_key', ()),
    ('login_throttle', 'user_key', 40, None, ('ix_login_throttle_user_key',)),
)
# login_throttle.user_key is also half of the table's primary key.
PRIMARY_KEYS = {('login_throttle', 'user_key'): ('pk_login_throttle', ('source', 'user_key'))}


def _recollate(collation):
    if op.get_context().dialect.name != 'mssql':
        return
    for table, column, length, unique, indexes in SEARCH_KEYS:
        primary = PRIMARY_KEYS.get((table, column))
        for index in indexes:
            op.drop_index(index, table_name=table)
        if unique:
            op.drop_constraint(unique, table, type_='unique')
        if primary:
            op.drop_constraint(primary[0], table, type_='primary')
        op.alter_column(table, column, existing_type=sa.Unicode(length),
                        type_=sa.Unicode(length, collation=collation), existing_nullable=False, nullable=False)
        if primary:
            op.create_primary_key(primary[0], table, list(primary[1]))
        if unique:
            op.create_unique_constraint(unique, table, [column])
        for index in indexes:
            op.create_index(index, table, [column])


def upgrade():
    _recollate(BINARY_COLLATION)


def downgrade():
    _recollate(None)  # back to the database's default collation
