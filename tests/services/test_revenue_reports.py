"""The revenue reports in the registry: Revenue by Part, Debt Report, Units per Block.

One sale worked by hand (docs/money.md example 11 on an empty month): 40.00 USD
with 100.00 owed at 25 % and a 5.00 charge = debt 10.00, charge 5.00 (VAT
0.65 inside), energy 25.00 = 50 kWh x 0.10 + 100 kWh x 0.20 (VAT 3.26 inside);
20 kWh free worth 2.00. Then 20.00 written off and 12.50 paid as debt only.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from stron_tui.db.models import Tariff
from stron_tui.services import debt, reports, tariffs, vending
from stron_tui.services.reports import ReportFilters
from stron_tui.services.vending import VendRequest
from tests.factories import add_meter, build_world

PAYMENT_PASSWORD = "AdminPass1"


@pytest.fixture
def month(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4940000001")
    number = world.accounts[meter]
    with ctx.db.session() as session:
        session.scalar(select(Tariff).where(Tariff.name == "Home")).fixed_charge_vat = True
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "5.00", [("50", "0.10"), ("200", "0.20"), ("", "0.30")])
    debt.change_debt(ctx, admin, number, "added", "100.00", "Arrears", payment_password=PAYMENT_PASSWORD)
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25", free_units="20"))
    vending.vend(ctx, admin, VendRequest(meter, "amount", "40.00", request_id=vending.new_request_id()),
                 payment_password=PAYMENT_PASSWORD)
    debt.change_debt(ctx, admin, number, "written_off", "20.00", "Hardship", payment_password=PAYMENT_PASSWORD)
    debt.pay_debt(ctx, admin, meter, "12.50", request_id="debt-pay-report-1", payment_password=PAYMENT_PASSWORD)
    world.meter, world.number = meter, number
    return world


def test_revenue_by_part_splits_what_was_paid_and_totals_it(ctx, admin, month):
    loaded = reports.run_report(ctx, admin, "revenue_parts", ReportFilters())
    [row] = loaded.rows
    assert (row.sales, row.gross, row.debt_recovered, row.fixed_charges, row.energy) == (
        1, D("40.00"), D("10.00"), D("5.00"), D("25.00"))
    # Excise 2 % is inside the energy only: net (25.00 - 3.26) / 1.02 = 21.31, excise 25.00 - 3.26 - 21.31.
    assert (row.vat, row.excise, row.free_units, row.subsidy) == (D("3.91"), D("0.43"), D("20.0"), D("2.00"))
    assert row.debt_recovered + row.fixed_charges + row.energy == row.gross
    [total] = loaded.totals
    assert (total.currency, total.gross, total.subsidy) == ("USD", D("40.00"), D("2.00"))
    table = reports.REPORTS["revenue_parts"].table(loaded)
    assert [column.title for column in table.columns][3:9] == [
        "Total paid", "Debt recovered", "Fixed charges", "Energy", "VAT", "Excise"]
    assert list(table.totals[0])[:4] == ["Total", "USD", 1, D("40.00")]


def test_the_debt_report_gives_opening_movements_and_closing_per_account_and_district(ctx, admin, month):
    loaded = reports.run_report(ctx, admin, "debt", ReportFilters())
    [row] = loaded.rows
    assert (row.account_number, row.station_code, row.district_name, row.currency) == (
        month.number, "S1", "Test District", "USD")
    assert (row.opening, row.added, row.recovered, row.paid, row.written_off, row.closing) == (
        D(0), D("100.00"), D("10.00"), D("12.50"), D("20.00"), D("57.50"))
    district, everything = loaded.totals
    assert (district.district_name, district.closing) == ("Test District", D("57.50"))
    assert (everything.district_name, everything.added, everything.closing) == ("All districts", D("100.00"),
                                                                                 D("57.50"))
    # A period starting tomorrow: everything so far is its opening, and nothing moved in it.
    from datetime import timedelta

    from stron_tui.domain.clock import local_date, utcnow

    tomorrow = local_date(utcnow(), ctx.settings.zone) + timedelta(days=1)
    [later] = reports.run_report(ctx, admin, "debt", ReportFilters(date_from=tomorrow)).rows
    assert (later.opening, later.added, later.recovered, later.closing) == (D("57.50"), 0, 0, D("57.50"))


def test_units_per_block_lists_each_block_and_totals_per_currency(ctx, admin, month):
    loaded = reports.run_report(ctx, admin, "blocks", ReportFilters())
    assert [(row.tariff, row.block, row.price_all_in, row.units, row.amount) for row in loaded.rows] == [
        ("Home", 1, D("0.1"), D("50.0"), D("5.00")), ("Home", 2, D("0.2"), D("100.0"), D("20.00"))]
    [total] = loaded.totals
    assert (total.currency, total.units, total.amount) == ("USD", D("150.0"), D("25.00"))


def test_the_revenue_reports_export_as_the_screen_shows_them(ctx, admin, month):
    result = reports.export_report(ctx, admin, "debt", "csv")
    with open(result.path, newline="", encoding="utf-8-sig") as handle:
        lines = list(csv.reader(handle))
    header = next(line for line in lines if line and line[0] == "District")
    assert header[-6:] == ["Opening", "Added", "Recovered", "Paid", "Written off", "Closing"]
    assert any(line[:3] == ["Test District", "S1", month.number] and line[-1] == "57.50" for line in lines)
    for key in ("revenue_parts", "blocks"):
        assert reports.export_report(ctx, admin, key, "xlsx").rows >= 1


def test_an_operator_of_another_station_sees_none_of_it(ctx, admin, month):
    rights = admin.permissions - {"reports.all_stations"}
    elsewhere = replace(admin, permissions=rights, builtin_admin=False, station_id=month.station_id + 100)
    for key in ("revenue_parts", "debt", "blocks"):
        assert reports.run_report(ctx, elsewhere, key, ReportFilters()).rows == []
    at_home = replace(admin, permissions=rights, builtin_admin=False, station_id=month.station_id)
    assert len(reports.run_report(ctx, at_home, "debt", ReportFilters()).rows) == 1

