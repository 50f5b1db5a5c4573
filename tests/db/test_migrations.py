"""Migrations run up and down on SQLite and PostgreSQL and render for SQL Server."""

from __future__ import annotations

import re
import uuid
from typing import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from stron_tui.db import migrate
from stron_tui.db.engine import Database
from stron_tui.db.models import Base
from stron_tui.db.revision import SCHEMA_HEAD
from tests.conftest import MSSQL_URL, PG_URL

EXPECTED_TABLES = {table.name for table in Base.metadata.sorted_tables}


@pytest.fixture(params=["sqlite", "postgresql", "mssql"])
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """An empty database (no schema) on each backend: a SQLite file, or a throw-away server database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    if request.param == "mssql":
        if not MSSQL_URL:
            pytest.skip("STRON_TEST_MSSQL_URL is not set")
        yield from _empty_mssql_database()
        return
    if not PG_URL:
        pytest.skip("STRON_TEST_PG_URL is not set")
    base = make_url(PG_URL)
    name = f"stron_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_schema_head_constant_matches_alembic():
    assert migrate.head_revision() == SCHEMA_HEAD


def test_upgrade_and_downgrade(empty_database_url):
    url = empty_database_url
    db = Database(url)
    try:
        migrate.upgrade(db)
        assert migrate.current_revision(db) == SCHEMA_HEAD
        tables = set(inspect(db.engine).get_table_names())
        assert EXPECTED_TABLES <= tables
        migrate.downgrade(db, "base")
        assert migrate.current_revision(db) is None
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(db)
        assert migrate.current_revision(db) == SCHEMA_HEAD
    finally:
        db.dispose()


def test_migrations_render_as_t_sql_for_sql_server():
    sql = migrate.render_sql("mssql+pyodbc://user@dsn")
    assert "CREATE TABLE meters" in sql
    # Identity columns, DATETIME2 instants, Unicode text, filtered unique index.
    assert re.search(r"id BIGINT NOT NULL IDENTITY\(1,1\)", sql)
    assert re.search(r"id INTEGER NOT NULL IDENTITY\(1,1\)", sql)
    assert "created_at DATETIME2(6) NOT NULL" in sql
    assert "business_date DATE NOT NULL" in sql and not re.search(r"\bDATETIME\b", sql)
    assert "name NVARCHAR(120) NOT NULL" in sql
    assert "CREATE UNIQUE INDEX uq_accounts_open_meter ON accounts (meter_id) WHERE status = 'open'" in sql
    # Explicit constraint names from the naming convention, and T-SQL batches.
    assert "CONSTRAINT pk_meters PRIMARY KEY (id)" in sql
    assert "CONSTRAINT uq_meters_meter_number UNIQUE (meter_number)" in sql
    assert "CONSTRAINT fk_accounts_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id)" in sql
    assert "\nGO\n" in sql
    assert "BOOLEAN" not in sql and "BIT NOT NULL" in sql


def test_upgrade_sql_is_printed_by_the_cli(capsys):
    from stron_tui.cli import main

    assert main(["db", "upgrade", "--sql", "--url", "mssql+pyodbc://user@dsn"]) == 0
    assert "CREATE TABLE vends" in capsys.readouterr().out


def _empty_mssql_database() -> Iterator[str]:
    base = make_url(MSSQL_URL)
    name = f"stron_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="master"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE [{name}]"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE"))
            connection.execute(text(f"DROP DATABASE [{name}]"))
        admin.dispose()


METER_COLUMNS = ("meter_number, meter_type, utility, status, sgc, ti, krn, kt, ea, dkga, base_date, ken, installed_sgc, "
                 "installed_ti, installed_krn, installed_kt, installed_ea, installed_dkga, installed_base_date, "
                 "installed_ken, created_at, updated_at")


def test_every_meter_gets_its_last_sale_row(empty_database_url):
    url = empty_database_url
    db = Database(url)
    try:
        migrate.upgrade(db, "0002")
        with db.engine.begin() as connection:
            for number in ("01000000001", "01000000002"):
                connection.execute(text(
                    f"INSERT INTO meters ({METER_COLUMNS}) VALUES (:number, 'single-phase', 'electricity', 'active', "
                    "'123456', 1, 1, 2, '07', '02', 2014, 255, '123456', 1, 1, 2, '07', '02', 2014, 255, "
                    ":now, :now)"), {"number": number, "now": "2024-01-01 00:00:00"})
            sold, never = connection.execute(text("SELECT id FROM meters ORDER BY meter_number")).scalars().all()
            connection.execute(text(
                "INSERT INTO meter_vend_activity (meter_id, last_business_date, last_created_at, vend_count) "
                "VALUES (:id, :day, :at, 3)"), {"id": sold, "day": "2024-02-01", "at": "2024-02-01 10:00:00"})
        activity = "SELECT meter_id, last_business_date IS NULL, vend_count FROM meter_vend_activity ORDER BY meter_id"

        def rows():
            with db.engine.connect() as connection:
                return [tuple(int(v) for v in row) for row in connection.execute(text(activity))]

        migrate.upgrade(db)
        assert rows() == [(sold, 0, 3), (never, 1, 0)]  # the never-sold meter got its row
        assert "ix_meter_vend_activity_last_sale" in {i["name"] for i in inspect(db.engine).get_indexes(
            "meter_vend_activity")}
        migrate.downgrade(db, "0002")
        assert rows() == [(sold, 0, 3)]
        migrate.upgrade(db)
        assert rows() == [(sold, 0, 3), (never, 1, 0)]
    finally:
        db.dispose()


def test_daily_total_slots_fold_into_one_row_on_downgrade(empty_database_url):
    url = empty_database_url
    from datetime import date
    from decimal import Decimal

    from stron_tui.db.models import District, SalesStation, VendDailyTotal
    from stron_tui.domain.clock import utcnow

    db = Database(url)
    try:
        migrate.upgrade(db)
        now = utcnow()
        with db.session() as session:
            district = District(code="D", code_key="d", name="D", name_key="d", created_at=now, updated_at=now)
            session.add(district)
            session.flush()
            station = SalesStation(code="S", code_key="s", name="S", name_key="s", district_id=district.id,
                                   created_at=now, updated_at=now)
            session.add(station)
            session.flush()
            key = dict(business_date=date(2024, 5, 1), station_id=station.id, operator_key=0,
                       district_id=district.id, utility="electricity", payment_type="cash", paid_currency="USD",
                       currency="USD")
            for slot, count in ((2, 3), (5, 4), (7, 1)):  # an API account's day in three slots
                session.add(VendDailyTotal(**key, slot=slot, vend_count=count, paid_amount=Decimal(10 * count),
                                           gross_amount=Decimal(10 * count), vat_amount=Decimal(count),
                                           excise_amount=Decimal(0), net_amount=Decimal(9 * count),
                                           units=Decimal(50 * count)))
        migrate.downgrade(db, "0003")
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT vend_count, gross_amount, units FROM vend_daily_totals")).all()
        assert [(count, Decimal(gross), Decimal(units)) for count, gross, units in rows] == [
            (8, Decimal(80), Decimal(400))]
        migrate.upgrade(db)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT slot, vend_count FROM vend_daily_totals")).all() == [(0, 8)]
    finally:
        db.dispose()
