"""tokens to the customer: delivery consent per customer and the message outbox

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

from stron_tui.db.types import UTCDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

NOTIFY_COLUMNS = ('notify_sms', 'notify_email', 'notify_auto')


def upgrade() -> None:
    # Added columns only: SQLite adds them in place (no table copy, so no foreign key to customers breaks).
    with op.batch_alter_table('customers') as batch:
        for name in NOTIFY_COLUMNS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'message_outbox',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False, start=1),
                  nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('channel', sa.Unicode(8), nullable=False),
        sa.Column('recipient', sa.Unicode(120), nullable=False),
        sa.Column('subject', sa.Unicode(200), nullable=False),
        sa.Column('body', sa.Unicode(2000), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('receipt_number', sa.Unicode(24), nullable=False),
        sa.Column('dedupe_key', sa.Unicode(100), nullable=False),
        sa.Column('status', sa.Unicode(8), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
        sa.Column('last_error', sa.Unicode(400), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name='fk_message_outbox_customer_id_customers'),
        sa.PrimaryKeyConstraint('id', name='pk_message_outbox'),
        sa.UniqueConstraint('dedupe_key', name='uq_message_outbox_dedupe_key'),
    )
    op.create_index('ix_message_outbox_due', 'message_outbox', ['status', 'next_attempt_at'])
    op.create_index('ix_message_outbox_receipt', 'message_outbox', ['receipt_number'])


def downgrade() -> None:
    op.drop_index('ix_message_outbox_receipt', table_name='message_outbox')
    op.drop_index('ix_message_outbox_due', table_name='message_outbox')
    op.drop_table('message_outbox')
    for name in NOTIFY_COLUMNS:
        if op.get_context().dialect.name == 'sqlite':
            # Native DROP COLUMN (SQLite 3.35+): a batch copy of customers would break every foreign key to it.
            op.execute(f'ALTER TABLE customers DROP COLUMN {name}')
        else:
            op.drop_column('customers', name, mssql_drop_default=True)
