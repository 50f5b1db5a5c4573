"""sales stations say how they print; meter types stored as the Meter Library's codes

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Names the first releases stored (the demo data wrote labels) -> the Meter Library's codes.
METER_TYPE_CODES = {
    'single-phase integrated keypad': 'single-phase-integrated',
    'single-phase split keypad': 'single-phase-split',
    'three-phase integrated keypad': 'three-phase-integrated',
    'three-phase split keypad': 'three-phase-split',
    'water integrated keypad': 'water-integrated',
    'water split keypad': 'water-split',
    'gas integrated keypad': 'gas-integrated',
    'gas split keypad': 'gas-split',
    'single-phase': 'single-phase-integrated',
    'three-phase': 'three-phase-integrated',
    'water': 'water-integrated',
    'gas': 'gas-integrated',
}


def upgrade() -> None:
    # 'none': receipts are saved as files (fetched over SFTP); 'terminal': the station's terminal passes
    # ANSI transparent print to its printer (PuTTY with a printer set, a thin client).
    with op.batch_alter_table('sales_stations') as batch:
        batch.add_column(sa.Column('printing', sa.Unicode(12), nullable=False, server_default='none'))
    meters = sa.table('meters', sa.column('meter_type', sa.Unicode(30)))
    for old, new in METER_TYPE_CODES.items():
        op.execute(meters.update().where(meters.c.meter_type == old).values(meter_type=new))


def downgrade() -> None:
    # The meter type codes stay: the older program shows them as they are.
    if op.get_context().dialect.name == 'sqlite':
        # Native DROP COLUMN (SQLite 3.35+): a batch copy of sales_stations would break every foreign key to it.
        op.execute('ALTER TABLE sales_stations DROP COLUMN printing')
    else:
        op.drop_column('sales_stations', 'printing', mssql_drop_default=True)
