"""A reversal counts in every sales total: sell, reverse, the total drops and the reversal shows, in each report
(from the daily totals and from single records alike), the cash-up, the histories and after a rebuild."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from stron_tui.db import migrate
from stron_tui.db.models import Vend, VendDailyTotal
from stron_tui.services import accounts, api_queries, reports, reversals
from stron_tui.services.context import AppContext
from stron_tui.services.reports import ReportFilters, rebuild_report_aggregates
from stron_tui.services.vending import new_request_id
from tests.cash_helpers import PAYMENT, sell, supervisor
from tests.factories import add_meter, build_world


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


@pytest.fixture
def meter(world):
    return add_meter(world, "4870000001")


@pytest.fixture
def boss(ctx, admin, world):
    return supervisor(ctx, admin, world)


@pytest.fixture
def one_reversed(ctx, admin, meter, boss):
    """Two sales of 10 and 20, the 10 reversed: (the reversed sale, its reversal)."""
    wrong = sell(ctx, admin, meter, "10", password="AdminPass1")
    sell(ctx, admin, meter, "20", password="AdminPass1")
    done = reversals.reverse(ctx, boss, wrong.receipt_number, reason="wrong meter", token_declared_unused=True,
                             request_id=new_request_id(), payment_password=PAYMENT)
    return wrong, done


def _usd(totals):
    (usd,) = [t for t in totals if t.currency == "USD"]
    return usd


@pytest.mark.parametrize("filters", [ReportFilters(), ReportFilters(meter_number="4870000001")],
                         ids=["daily-totals", "single-records"])
def test_receipt_report_totals_drop_and_the_reversal_shows(ctx, admin, meter, one_reversed, filters):
    wrong, done = one_reversed
    filters = filters if filters.meter_number is None else ReportFilters(meter_number=meter)
    usd = _usd(reports.receipt_totals(ctx, admin, filters))
    assert (usd.vend_count, usd.reversal_count, usd.paid_amount, usd.gross_amount) == (
        2, 1, Decimal("20.00"), Decimal("20.00"))
    rows = {r.receipt_number: r.reversal_number for r in reports.receipts(ctx, admin, filters).rows}
    assert rows[wrong.receipt_number] == done.reversal_number and list(rows.values()).count("") == 1
    loaded = reports.run_report(ctx, admin, "receipts", filters)
    assert "2 sales (1 reversed): 20.00 USD" in reports.report_named("receipts").summary(loaded)


@pytest.mark.parametrize("filters", [ReportFilters(), ReportFilters(meter_number="4870000001")],
                         ids=["daily-totals", "single-records"])
def test_monthly_district_and_payment_reports_count_the_reversal(ctx, admin, meter, one_reversed, filters):
    filters = filters if filters.meter_number is None else ReportFilters(meter_number=meter)
    (month,) = reports.monthly_summary(ctx, admin, filters).rows
    assert (month.vend_count, month.reversal_count, month.gross_amount) == (2, 1, Decimal("20.00"))
    assert month.vat_amount + month.excise_amount + month.net_amount == Decimal("20.00")
    (district,) = reports.district_report(ctx, admin, filters).rows
    assert (district.vend_count, district.reversal_count, district.cash, district.total) == (
        2, 1, Decimal("20.00"), Decimal("20.00"))
    (station,) = reports.station_payments(ctx, admin, filters).rows
    assert (station.vend_count, station.reversal_count, station.gross_amount, station.amount_for("cash")) == (
        2, 1, Decimal("20.00"), Decimal("20.00"))
    (customer,) = reports.customer_payments(ctx, admin, filters, station.key_id).rows
    assert (customer.vend_count, customer.reversal_count, customer.gross_amount) == (2, 1, Decimal("20.00"))


def test_cash_up_shows_sales_made_and_money_paid_back_once(ctx, admin, one_reversed):
    report = reports.cashup(ctx, admin, ReportFilters(), by_day=False)
    mine = {(line.item, line.currency): (line.count, line.amount) for line in report.lines if line.operator == "Admin"}
    assert mine[("Sales: Cash", "USD")] == (2, Decimal("30.00"))
    assert mine[("Reversals: Cash", "USD")] == (1, Decimal("-10.00"))
    assert sum(amount for _count, amount in mine.values()) == Decimal("20.00")  # what the drawer holds


def test_histories_and_the_transaction_report_name_the_reversal(ctx, admin, meter, one_reversed):
    wrong, done = one_reversed
    history = api_queries.meter_vends(ctx, admin, meter).rows
    assert [(v.receipt_number, v.reversal_number) for v in history][-1] == (wrong.receipt_number,
                                                                           done.reversal_number)
    assert history[0].reversal_number == ""
    with ctx.db.read_session() as session:
        account_id = session.scalar(select(Vend.account_id).where(Vend.receipt_number == wrong.receipt_number))
    view = accounts.account_view(ctx, admin, account_id)
    assert {v.receipt_number: v.reversal_number for v in view.vends}[wrong.receipt_number] == done.reversal_number
    found = reports.transactions(ctx, admin, [wrong.transaction_number]).found
    assert found[0].reversal_number == done.reversal_number


def test_rebuilt_totals_equal_the_ones_kept_sale_by_sale(ctx, admin, one_reversed):
    def rows():
        with ctx.db.read_session() as session:
            return sorted((r.business_date, r.operator_key, r.payment_type, r.vend_count, r.reversal_count,
                           r.paid_amount, r.gross_amount, r.units) for r in session.scalars(select(VendDailyTotal)))

    kept = rows()
    with ctx.db.session() as session:
        rebuild_report_aggregates(session)
    assert rows() == kept and kept[0][3:6] == (2, 1, Decimal("20.00"))


def test_a_reversal_on_a_later_day_books_there_and_leaves_the_sale_day(ctx, admin, meter, boss):
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    with ctx.db.session() as session:  # the sale was yesterday
        today = session.scalar(select(Vend.business_date))
        yesterday = today - timedelta(days=1)
        session.execute(update(Vend).values(business_date=yesterday))
        session.execute(update(VendDailyTotal).values(business_date=yesterday))
    wide = AppContext(settings=ctx.settings.with_overrides(reversal_window_days=1), db=ctx.db)
    reversals.reverse(wide, boss, sale.receipt_number, reason="paid back", token_declared_unused=False,
                      request_id=new_request_id(), payment_password=PAYMENT)
    for extra in ({}, {"meter_number": meter}):
        before = _usd(reports.receipt_totals(ctx, admin, ReportFilters(date_from=yesterday, date_to=yesterday,
                                                                       **extra)))
        assert (before.vend_count, before.reversal_count, before.gross_amount) == (1, 0, Decimal("10.00"))
        after = _usd(reports.receipt_totals(ctx, admin, ReportFilters(date_from=today, date_to=today, **extra)))
        assert (after.vend_count, after.reversal_count, after.gross_amount) == (0, 1, Decimal("-10.00"))
        whole = _usd(reports.receipt_totals(ctx, admin, ReportFilters(date_from=yesterday, date_to=today,
                                                                      **extra)))
        assert (whole.vend_count, whole.reversal_count, whole.gross_amount) == (1, 1, Decimal("0.00"))


def test_the_migration_takes_recorded_reversals_off_and_puts_them_back(ctx, admin, one_reversed):
    def day():
        with ctx.db.read_session() as session:
            return [(r.vend_count, r.gross_amount) for r in session.scalars(select(VendDailyTotal))]

    assert day() == [(2, Decimal("20.00"))]
    migrate.downgrade(ctx.db, "0014")  # before reversals counted: the sales as made
    ctx.db.engine.dispose()
    from sqlalchemy import text

    with ctx.db.engine.connect() as connection:
        assert [(count, Decimal(gross)) for count, gross in connection.execute(
            text("SELECT vend_count, gross_amount FROM vend_daily_totals"))] == [(2, Decimal("30"))]
    migrate.upgrade(ctx.db)
    with ctx.db.engine.connect() as connection:
        assert [(count, reversed_, Decimal(gross)) for count, reversed_, gross in connection.execute(
            text("SELECT vend_count, reversal_count, gross_amount FROM vend_daily_totals"))] == [(2, 1, Decimal("20"))]


def test_revenue_by_month_takes_the_reversed_sale_off(ctx, admin, meter, one_reversed):
    from stron_tui.services.reports.revenue import revenue_by_month

    for filters in (ReportFilters(), ReportFilters(meter_number=meter)):
        (month,) = revenue_by_month(ctx, admin, filters)
        assert (month.sales, month.reversals, month.gross, month.energy) == (2, 1, Decimal("20.00"),
                                                                             Decimal("20.00"))
