"""request ids (idempotency keys) are unique per operator or API account, not across callers

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('vends', 'management_tokens')
OWNERS = ('operator_id', 'api_account_id')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f'uq_{table}_request_id', type_='unique')
        for owner in OWNERS:
            where = sa.text(f'{owner} IS NOT NULL')
            op.create_index(f'uq_{table}_{owner}_request', table, [owner, 'request_id'], unique=True,
                            sqlite_where=where, postgresql_where=where, mssql_where=where)


def downgrade() -> None:
    # Only possible while no two callers share a request id (the old rule); the database refuses otherwise.
    for table in TABLES:
        for owner in OWNERS:
            op.drop_index(f'uq_{table}_{owner}_request', table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.create_unique_constraint(f'uq_{table}_request_id', ['request_id'])
