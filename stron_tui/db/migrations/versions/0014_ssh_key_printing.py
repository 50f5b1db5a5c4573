"""each SSH key may say how the terminal that holds it prints: the station's setting, print or save

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 'station': the sales station's Printing decides (0009); 'terminal': this key's terminal passes
    # transparent print to its printer; 'none': receipts are saved as files for this key's terminal.
    with op.batch_alter_table('user_public_keys') as batch:
        batch.add_column(sa.Column('printing', sa.Unicode(12), nullable=False, server_default='station'))


def downgrade() -> None:
    if op.get_context().dialect.name == 'sqlite':
        # Native DROP COLUMN (SQLite 3.35+), as 0009 does: no batch copy of the table.
        op.execute('ALTER TABLE user_public_keys DROP COLUMN printing')
    else:
        op.drop_column('user_public_keys', 'printing', mssql_drop_default=True)
