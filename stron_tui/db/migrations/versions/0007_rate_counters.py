"""rate counters: the API's request counts per account and per client address, shared by every worker

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_counters',
        sa.Column('bucket', sa.Unicode(100), nullable=False),
        sa.Column('minute', sa.Integer(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('bucket', 'minute', name='pk_rate_counters'),
    )
    op.create_index('ix_rate_counters_minute', 'rate_counters', ['minute'])


def downgrade() -> None:
    op.drop_index('ix_rate_counters_minute', table_name='rate_counters')
    op.drop_table('rate_counters')
