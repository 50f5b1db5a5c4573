"""every meter has its last-sale row: never-sold meters with NULL dates; an index of retired meters

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

from stron_tui.db.types import UTCDateTime


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

RETIRED = {f"{dialect}_where": sa.text("status = 'retired'") for dialect in ("sqlite", "postgresql", "mssql")}


def upgrade() -> None:
    # SQL Server cannot change a column that an index holds: the index goes first.
    op.drop_index('ix_meter_vend_activity_last_business_date', table_name='meter_vend_activity')
    with op.batch_alter_table('meter_vend_activity') as batch:
        batch.alter_column('last_business_date', existing_type=sa.Date(), nullable=True)
        batch.alter_column('last_created_at', existing_type=UTCDateTime(), nullable=True)
    op.create_index('ix_meter_vend_activity_last_sale', 'meter_vend_activity', ['last_business_date', 'meter_id'],
                    unique=False)
    op.create_index('ix_meters_retired', 'meters', ['id'], unique=False, **RETIRED)
    # Meters that never sold get their row (no last sale); from now on a meter gets it when created.
    op.execute(
        "INSERT INTO meter_vend_activity (meter_id, last_business_date, last_created_at, vend_count)"
        " SELECT meters.id, NULL, NULL, 0 FROM meters WHERE NOT EXISTS"
        " (SELECT 1 FROM meter_vend_activity WHERE meter_vend_activity.meter_id = meters.id)"
    )


def downgrade() -> None:
    op.drop_index('ix_meters_retired', table_name='meters', **RETIRED)
    op.execute("DELETE FROM meter_vend_activity WHERE last_business_date IS NULL")
    op.drop_index('ix_meter_vend_activity_last_sale', table_name='meter_vend_activity')
    with op.batch_alter_table('meter_vend_activity') as batch:
        batch.alter_column('last_business_date', existing_type=sa.Date(), nullable=False)
        batch.alter_column('last_created_at', existing_type=UTCDateTime(), nullable=False)
    op.create_index('ix_meter_vend_activity_last_business_date', 'meter_vend_activity', ['last_business_date'],
                    unique=False)
