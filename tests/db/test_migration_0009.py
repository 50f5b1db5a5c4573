"""0009: stations get a printing setting (none by default); older meter type names become the library's codes."""

from __future__ import annotations

from sqlalchemy import inspect, text

from stron_tui.db import migrate
from stron_tui.db.engine import Database
from tests.db.test_migrations import METER_COLUMNS, empty_database_url  # noqa: F401 - the fixture


def test_station_printing_and_meter_type_codes(empty_database_url):  # noqa: F811
    db = Database(empty_database_url)
    try:
        migrate.upgrade(db, "0004")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO districts (code, code_key, name, name_key, kind, description, "
                                    "created_at, updated_at) VALUES ('D', 'd', 'D', 'd', 'residential', '', "
                                    ":now, :now)"), {"now": "2024-01-01 00:00:00"})
            district = connection.execute(text("SELECT id FROM districts")).scalar()
            connection.execute(text("INSERT INTO sales_stations (code, code_key, name, name_key, district_id, "
                                    "address, phone, receipt_width, active, created_at, updated_at) VALUES "
                                    "('S', 's', 'S', 's', :district, '', '', 40, :yes, :now, :now)"),
                               {"district": district, "yes": True, "now": "2024-01-01 00:00:00"})
            for number, kind in (("01000000001", "single-phase integrated keypad"), ("01000000002", "gas"),
                                 ("01000000003", "three-phase-split")):
                connection.execute(text(
                    f"INSERT INTO meters ({METER_COLUMNS}) VALUES (:number, :kind, 'electricity', 'active', "
                    "'123456', 1, 1, 2, '07', '02', 2014, 255, '123456', 1, 1, 2, '07', '02', 2014, 255, "
                    ":now, :now)"), {"number": number, "kind": kind, "now": "2024-01-01 00:00:00"})
        migrate.upgrade(db)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT printing FROM sales_stations")).scalars().all() == ["none"]
            kinds = connection.execute(text("SELECT meter_type FROM meters ORDER BY meter_number")).scalars().all()
        assert kinds == ["single-phase-integrated", "gas-integrated", "three-phase-split"]
        migrate.downgrade(db, "0004")  # with a station that other rows may point at
        assert "printing" not in {column["name"] for column in inspect(db.engine).get_columns("sales_stations")}
        migrate.upgrade(db)
    finally:
        db.dispose()
