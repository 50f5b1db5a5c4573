"""SQL Server readiness without a SQL Server: binary search keys, and T-SQL that a T-SQL parser accepts.

Every statement any test executes is compiled for SQL Server and parsed (the
autouse check in tests/conftest.py); these tests prove that check can fail,
that it sees the sale path, and parse every migration rendered as T-SQL.
"""

from __future__ import annotations

import io
import re

import pytest
from alembic import command
from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from stron_tui.db import migrate
from stron_tui.db.models import Base, Meter, Vend
from stron_tui.db.types import MSSQL_BINARY_COLLATION
from tests.tsql import StatementCheck, TSqlError, parse_script, parse_tsql, sql_server_2022

MSSQL = "mssql+pyodbc://user@dsn"


def search_key_columns():
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            variant = getattr(column.type, "_variant_mapping", {}).get("mssql")
            if getattr(variant, "collation", None) == MSSQL_BINARY_COLLATION:
                yield table.name, column.name, column.type.length


def render(revisions: str, *, down: bool = False) -> str:
    output = io.StringIO()
    action = command.downgrade if down else command.upgrade
    action(migrate.alembic_config(MSSQL, output), revisions, sql=True)
    return output.getvalue()


def test_search_keys_are_binary_on_sql_server_and_c_on_postgresql():
    columns = list(search_key_columns())
    assert {(table, column) for table, column, _ in columns} >= {
        ("meters", "meter_number"), ("accounts", "account_number"), ("customers", "name_key"),
        ("customers", "phone_key"), ("users", "user_key"), ("login_throttle", "user_key")}
    tsql = str(CreateTable(Meter.__table__).compile(dialect=sql_server_2022()))
    assert "meter_number NVARCHAR(13) COLLATE Latin1_General_100_BIN2 NOT NULL" in tsql
    assert 'meter_number VARCHAR(13) COLLATE "C" NOT NULL' in str(CreateTable(Meter.__table__).compile(
        dialect=postgresql.dialect()))
    assert "COLLATE" not in str(CreateTable(Meter.__table__).compile(dialect=sqlite.dialect()))
    parse_tsql(tsql)


def test_every_search_key_ends_binary_after_the_migrations():
    script = render("head")
    for table, column, length in search_key_columns():
        created = re.search(rf"CREATE TABLE {table} \((.*?)\n\)", script, re.S).group(1)
        in_create = f"{column} NVARCHAR({length}) COLLATE {MSSQL_BINARY_COLLATION}" in created
        altered = (f"ALTER TABLE {table} ALTER COLUMN {column} NVARCHAR({length}) "
                   f"COLLATE {MSSQL_BINARY_COLLATION} NOT NULL") in script
        assert in_create or altered, f"{table}.{column} keeps the server's linguistic collation"


def test_migration_0013_rebuilds_keys_around_the_collation_change_and_back():
    up = render("0012:0013")
    assert up.index("DROP INDEX ix_customers_name_key ON customers") \
        < up.index("ALTER TABLE customers ALTER COLUMN name_key NVARCHAR(120) COLLATE Latin1_General_100_BIN2 NOT NULL") \
        < up.index("CREATE INDEX ix_customers_name_key ON customers (name_key)")
    assert up.index("ALTER TABLE login_throttle DROP CONSTRAINT pk_login_throttle") \
        < up.index("ALTER TABLE login_throttle ALTER COLUMN user_key NVARCHAR(40) COLLATE Latin1_General_100_BIN2") \
        < up.index("ALTER TABLE login_throttle ADD CONSTRAINT pk_login_throttle PRIMARY KEY (source, user_key)")
    assert "ALTER TABLE meters ADD CONSTRAINT uq_meters_meter_number UNIQUE (meter_number)" in up
    assert parse_script(up) == 3 * 14 + 2 + 3  # 14 columns, the primary key, begin + version row + commit
    down = render("0013:0012", down=True)
    assert "ALTER TABLE meters ALTER COLUMN meter_number NVARCHAR(13) NOT NULL" in down
    assert "COLLATE" not in down
    parse_script(down)


def test_every_migration_parses_as_tsql_both_ways(capsys):
    from stron_tui.cli import main

    assert main(["db", "upgrade", "--sql", "--url", MSSQL]) == 0
    upgrade = capsys.readouterr().out
    assert parse_script(upgrade) > 140
    assert parse_script(render("head:base", down=True)) > 40


def test_the_parser_refuses_what_sql_server_refuses():
    for bad in ("SELECT id FROM meters WHERE (meter_number = N'1'",  # unbalanced
                "SELECT id FROM meters ORDER BY id NULLS LAST",
                "SELECT id FROM meters LIMIT 5",
                "SELECT id FROM meters WHERE (meter_number, id) > (?, ?)"):
        with pytest.raises(TSqlError):
            parse_tsql(bad)
    with pytest.raises(TSqlError):
        parse_script("CREATE TABLE t (a INT)\nGO\nSELEC a FROM t\nGO\n")
    check = StatementCheck()
    assert "regular expressions" in check._check(select(Meter.id).where(Meter.meter_number.regexp_match("^01")))
    assert "row-value" in check._check(select(Meter.id).where(tuple_(Meter.meter_number, Meter.id) > tuple_("0", 1)))


def test_a_statement_sql_server_refuses_fails_the_test_that_ran_it(ctx, _tsql_statement_check):
    with ctx.db.session() as session:
        session.execute(select(Meter.id).order_by(Meter.meter_number.nulls_last()))  # fine on SQLite
        session.execute(text("SELECT 1"))  # raw text is the database's own dialect: not checked
    failures = _tsql_statement_check.take_failures()  # taken here, so this test itself passes
    assert len(failures) == 1 and "NULLS is not T-SQL" in failures[0]


def test_the_sale_path_is_checked(ctx, admin):
    from stron_tui.services import vending
    from tests.factories import add_meter, build_world

    world = build_world(ctx)
    meter = add_meter(world, "0100000001")
    request = vending.VendRequest(meter_number=meter, mode="amount", value="25.00", currency=None,
                                  payment_type="cash", request_id=vending.new_request_id())
    check = StatementCheck()  # a fresh one: the session's has seen these statements already
    check.install()
    try:
        receipt = vending.vend(ctx, admin, request, payment_password="AdminPass1")
    finally:
        check.remove()
    assert len(receipt.token.replace(" ", "").replace("-", "")) == 20
    assert check.take_failures() == []
    sale_facts = [sql for sql in check.statements if "FROM meters WITH (UPDLOCK, ROWLOCK)" in sql]
    assert sale_facts, "the locked sale read was not seen"
    assert any(sql.startswith("INSERT INTO vends") for sql in check.statements)
    with ctx.db.read_session() as session:
        assert session.scalar(select(Vend.meter_id)) is not None
