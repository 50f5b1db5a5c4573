"""indexes of an API account's sales and tokens by day: a partner's look-ups and reports cover its own only

Revision ID: 0008
Revises: 0007
"""

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_vends_api_account_date', 'vends', ['api_account_id', 'business_date'], unique=False)
    op.create_index('ix_management_tokens_api_account_date', 'management_tokens', ['api_account_id', 'business_date'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_management_tokens_api_account_date', table_name='management_tokens')
    op.drop_index('ix_vends_api_account_date', table_name='vends')
