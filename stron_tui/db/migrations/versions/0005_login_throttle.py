"""login throttle: failed logins per source address and user ID, shared by every process

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

from stron_tui.db.types import UTCDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('source', sa.Unicode(length=80), nullable=False),
    sa.Column('user_key', sa.Unicode(length=40).with_variant(sa.Unicode(length=40, collation='C'), 'postgresql'),
              nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', UTCDateTime(), nullable=True),
    sa.Column('blocked_until', UTCDateTime(), nullable=True),
    sa.Column('penalties', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'user_key', name=op.f('pk_login_throttle'))
    )
    op.create_index(op.f('ix_login_throttle_last_failure_at'), 'login_throttle', ['last_failure_at'], unique=False)
    op.create_index('ix_login_throttle_user_key', 'login_throttle', ['user_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_throttle_user_key', table_name='login_throttle')
    op.drop_index(op.f('ix_login_throttle_last_failure_at'), table_name='login_throttle')
    op.drop_table('login_throttle')
