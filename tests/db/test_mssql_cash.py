"""Cash control's locks compile to SQL Server as production needs them."""

from __future__ import annotations

from tests.db.test_mssql_queries import sql_server_2022


def test_float_debit_is_one_conditional_update_returning_the_balance():
    from stron_tui.services.vendor_floats import _DEBIT

    sql = str(_DEBIT.compile(dialect=sql_server_2022()))
    assert sql.startswith("UPDATE vendor_floats SET balance=(vendor_floats.balance - ")
    assert "OUTPUT inserted.balance" in sql and ">= -vendor_floats.credit_limit" in sql


def test_reversal_locks_the_sales_row_with_an_update_lock():
    from sqlalchemy import select

    from stron_tui.db.models import Vend
    from stron_tui.db.queries import for_update

    sql = str(for_update(select(Vend).where(Vend.receipt_number == "x"), Vend).compile(dialect=sql_server_2022()))
    assert "FROM vends WITH (UPDLOCK, ROWLOCK)" in sql
