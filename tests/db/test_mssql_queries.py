"""The key queries compile to SQL Server 2022 T-SQL as production needs them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import mssql
from sqlalchemy.schema import CreateTable

from stron_tui.db.models import AuditEntry, Meter, Vend
from stron_tui.db.queries import chunked, for_update, keyset_page, prefix_match


def sql_server_2022():
    dialect = mssql.dialect(deprecate_large_types=True)
    dialect.server_version_info = (16, 0)
    dialect._supports_offset_fetch = True
    return dialect


def compile_tsql(statement) -> str:
    return str(statement.compile(dialect=sql_server_2022(), compile_kwargs={"literal_binds": True}))


def test_locked_meter_read_takes_update_row_lock():
    query = for_update(select(Meter).where(Meter.meter_number == "01234567891"), Meter)
    sql = compile_tsql(query)
    assert "FROM meters WITH (UPDLOCK, ROWLOCK)" in sql
    assert "FOR UPDATE" not in sql


def test_locked_meter_read_is_for_update_on_postgresql():
    from sqlalchemy.dialects import postgresql

    query = for_update(select(Meter).where(Meter.id == 1), Meter)
    sql = str(query.compile(dialect=postgresql.dialect()))
    assert sql.rstrip().endswith("FOR UPDATE OF meters")
    assert "UPDLOCK" not in sql


@pytest.mark.parametrize("by_api_account", [False, True])
def test_sale_read_locks_only_the_meter_row(by_api_account):
    from sqlalchemy.dialects import postgresql

    from stron_tui.services.vending import _SALE_FACTS

    locked, unlocked = _SALE_FACTS[(True, by_api_account)], _SALE_FACTS[(False, by_api_account)]
    assert "FOR UPDATE" not in str(unlocked.compile(dialect=postgresql.dialect()))
    assert "UPDLOCK" not in str(unlocked.compile(dialect=sql_server_2022()))
    postgres = str(locked.compile(dialect=postgresql.dialect()))
    assert postgres.rstrip().endswith("FOR UPDATE OF meters")
    assert "LEFT OUTER JOIN accounts ON accounts.meter_id = meters.id AND accounts.status = " in postgres
    # The seller's float joins by its own indexed column, unlocked (its debit locks it, last in the sale).
    seller = "vendor_floats.api_account_id = %(float_api_account_id)s" if by_api_account else (
        "vendor_floats.station_id = sales_stations.id")
    assert f"LEFT OUTER JOIN vendor_floats ON {seller}" in postgres
    tsql = str(locked.compile(dialect=sql_server_2022()))
    assert "FROM meters WITH (UPDLOCK, ROWLOCK) LEFT OUTER JOIN accounts" in tsql
    assert tsql.count("UPDLOCK") == 1
    assert "FOR UPDATE" not in tsql


def test_keyset_page_of_meters_orders_and_limits():
    query, _ = keyset_page(
        select(Meter.id, Meter.meter_number).where(prefix_match(Meter.meter_number, "0123")),
        [Meter.meter_number, Meter.id],
        after=("01234567891", 42),
        limit=50,
        key_of=lambda row: (row.meter_number, row.id),
    )
    sql = compile_tsql(query)
    assert "ORDER BY meters.meter_number ASC, meters.id ASC" in sql
    assert "meters.meter_number >= N'0123' AND meters.meter_number < N'0123" in sql
    # No row-value comparison (SQL Server has none): expanded OR/AND.
    assert "meters.meter_number > N'01234567891' OR meters.meter_number = N'01234567891' AND meters.id > 42" in sql
    assert "TOP 51" in sql or "FETCH FIRST 51 ROWS ONLY" in sql


def test_offset_pages_use_offset_fetch_with_order_by():
    query = select(AuditEntry.id).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).offset(100).limit(50)
    sql = compile_tsql(query)
    assert "ORDER BY audit_log.occurred_at DESC, audit_log.id DESC" in sql
    assert "OFFSET 100 ROWS\n FETCH FIRST 50 ROWS ONLY" in sql


def test_vends_table_uses_identity_and_datetime2():
    sql = str(CreateTable(Vend.__table__).compile(dialect=sql_server_2022()))
    assert "id BIGINT NOT NULL IDENTITY(1,1)" in sql
    assert "created_at DATETIME2(6) NOT NULL" in sql
    assert "gross_amount NUMERIC(18, 4) NOT NULL" in sql


def test_in_lists_are_chunked_under_the_parameter_limit():
    chunks = list(chunked(range(4500)))
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 1000, 1000, 500]
    assert all(len(chunk) < 2100 for chunk in chunks)


def test_scope_predicate_compiles_for_each_kind_of_caller():
    from stron_tui.db.models import ManagementToken
    from stron_tui.services.permissions import ALL_PERMISSIONS, Actor
    from stron_tui.services.reports.scope import visible_to

    cashier = Actor(user_id=7, user_code="clerk", permissions=frozenset({"topup.reprint"}), station_id=3)
    partner = Actor(user_id=None, user_code="api", permissions=frozenset({"topup.reprint"}), api_account_id=5)
    head_office = Actor(user_id=8, user_code="hq", permissions=ALL_PERMISSIONS)
    roamer = Actor(user_id=9, user_code="roamer", permissions=frozenset({"topup.reprint"}))

    def where(actor, model=Vend):
        return compile_tsql(select(model.id).where(model.receipt_number == "S1-1", visible_to(actor, model)))

    assert "(vends.station_id = 3 OR vends.operator_id = 7)" in where(cashier)
    assert "management_tokens.api_account_id = 5" in where(partner, ManagementToken)
    assert where(head_office).endswith("WHERE vends.receipt_number = N'S1-1'")  # no condition at all
    assert "vends.operator_id = 9" in where(roamer) and "station_id" not in where(roamer)


def test_rate_counters_compile_for_sql_server_without_upsert():
    from sqlalchemy import update

    from stron_tui.db.models import RateCounter

    table = str(CreateTable(RateCounter.__table__).compile(dialect=sql_server_2022()))
    assert "CONSTRAINT pk_rate_counters PRIMARY KEY (bucket, minute)" in table
    counted = compile_tsql(update(RateCounter).where(RateCounter.bucket == "account:1", RateCounter.minute == 5,
                                                     RateCounter.hits < 10).values(hits=RateCounter.hits + 1))
    assert counted.startswith("UPDATE rate_counters SET hits=(rate_counters.hits + 1)")
    assert "MERGE" not in counted and "rate_counters.hits < 10" in counted


def test_revenue_read_compiles_for_sql_server_with_top_and_the_account_lock():
    from stron_tui.services.revenue import _REVENUE, lock_account_meter  # noqa: F401 - the statements used

    tsql = str(_REVENUE.compile(dialect=sql_server_2022()))
    assert "TOP 1" in tsql or "TOP __[POSTCOMPILE" in tsql
    assert "ORDER BY tariff_versions.effective_from DESC" in tsql
    from sqlalchemy import select as select_

    locked = for_update(select_(Meter.id).where(Meter.id == 1), Meter)
    assert "UPDLOCK" in str(locked.compile(dialect=sql_server_2022()))
