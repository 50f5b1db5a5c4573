"""Reports on a hand-built set of six sales whose figures were worked out by hand.

Electricity tariff: VAT 15 %, excise 2 %, prices include both, 0.50 USD/kWh.
Split of a gross G (pricing.py): net = round(G / 1.173), excise = round(net * 0.02), VAT = G - net - excise.
    100.00 -> net 85.25, excise 1.71, VAT 13.04, 200.0 kWh
     50.00 -> net 42.63, excise 0.85, VAT  6.52, 100.0 kWh
     20.00 -> net 17.05, excise 0.34, VAT  2.61,  40.0 kWh
Water tariff: VAT 5 %, no excise, 2.00 USD/m3:
     30.00 -> net 28.57, excise 0.00, VAT  1.43,  15.0 m3

Sales (UTC; the installation is in Africa/Lagos, UTC+1, which decides the business date):
    T1 2024-01-10 09:00  S1/D1  C1 M1 elec  cashier1  cash    100.00
    T2 2024-01-20 10:00  S1/D1  C2 M2 elec  cashier1  cheque   50.00
    T3 2024-01-31 23:30  S2/D2  C3 M3 water cashier2  e-card   30.00  (business date 2024-02-01)
    T4 2024-02-15 12:00  S1/D1  C1 M1 elec  cashier1  cash     20.00  (reprinted once; a clear tamper that day)
    T5 2024-02-16 12:00  S2/D2  C3 M3 water cashier2  mobile   30.00  paid 45,000.00 NGN
    T6 2024-03-05 08:00  S1/D1  C2 M2 elec  Admin     cash     50.00
Meters M4 (open account, never sold to), M5 (no account, never sold to), M6 (retired).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from stron_tui.db.models import (
    Account,
    AuditEntry,
    Customer,
    District,
    ManagementToken,
    Meter,
    MeterVendActivity,
    ReceiptPrint,
    Role,
    RolePermission,
    SalesStation,
    Tariff,
    User,
    Vend,
    VendDailyTotal,
)
from stron_tui.errors import PermissionDenied, ValidationError
from stron_tui.services import auth, reports, users
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.reports import ReportFilters
from stron_tui.services.reports.catalog import non_vending
from stron_tui.services.reports.catalog.receipts import RECEIPT_COLUMNS, receipt_totals_values
from stron_tui.domain.text import fold


def _utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@dataclass
class Sales:
    ctx: object
    admin: object
    cashier1: object  # reports.view + reports.export, station S1 only
    cashier2: object  # reports.view only, station S2 only
    station_ids: dict
    meter_ids: dict


def _meter(number: str, utility: str, status: str = "active") -> Meter:
    now = utcnow()
    return Meter(meter_number=number, meter_type="single-phase", utility=utility, status=status, sgc="123456",
                 ti=1, krn=1, kt=2, ea="07", dkga="02", base_date=2014, ken=255, installed_sgc="123456",
                 installed_ti=1, installed_krn=1, installed_kt=2, installed_ea="07", installed_dkga="02",
                 installed_base_date=2014, installed_ken=255, created_at=now, updated_at=now)


def _actor(ctx, admin, user_code, role, station_id):
    users.create_user(ctx, admin, user_code=user_code, role=role, station_id=station_id)
    with ctx.db.session() as session:
        user = session.scalar(select(User).where(User.user_key == fold(user_code)))
        return auth.actor_for(session, user, "tui")


def build_sales(ctx, admin) -> Sales:
    now = utcnow()
    zone = ctx.settings.zone
    with ctx.db.session() as s:
        d1 = District(code="D1", code_key="d1", name="North", name_key="north", created_at=now, updated_at=now)
        d2 = District(code="D2", code_key="d2", name="South", name_key="south", created_at=now, updated_at=now)
        s.add_all([d1, d2])
        s.flush()
        s1 = SalesStation(code="S1", code_key="s1", name="Market Hall", name_key="market hall", district_id=d1.id,
                          created_at=now, updated_at=now)
        s2 = SalesStation(code="S2", code_key="s2", name="Harbour", name_key="harbour", district_id=d2.id,
                          created_at=now, updated_at=now)
        s.add_all([s1, s2])
        elec = Tariff(name="Home power", name_key="home power", utility="electricity", unit="kWh",
                      price_per_unit=D("0.5"), currency_code="USD", vat_rate=D("0.15"), excise_rate=D("0.02"),
                      prices_include_vat=True, created_at=now, updated_at=now)
        water = Tariff(name="Water", name_key="water", utility="water", unit="m3", price_per_unit=D("2"),
                       currency_code="USD", vat_rate=D("0.05"), excise_rate=D("0"), prices_include_vat=True,
                       created_at=now, updated_at=now)
        s.add_all([elec, water])
        customers = {code: Customer(code=code, code_key=fold(code), name=name, name_key=fold(name),
                                    district_id=district.id, created_at=now, updated_at=now)
                     for code, name, district in (("C1", "Ada Obi", d1), ("C2", "Bola Ade", d1),
                                                  ("C3", "Chi Eze", d2))}
        s.add_all(customers.values())
        meters = {"M1": _meter("01000000001", "electricity"), "M2": _meter("01000000002", "electricity"),
                  "M3": _meter("01000000003", "water"), "M4": _meter("01000000004", "electricity"),
                  "M5": _meter("01000000005", "electricity"), "M6": _meter("01000000006", "electricity", "retired")}
        s.add_all(meters.values())
        s.flush()
        reports.aggregates.start_meter_activity(s, [m.id for m in meters.values()])  # as the meter library does
        accounts = {}
        for key, customer, meter, station, tariff in (("A1", "C1", "M1", s1, elec), ("A2", "C2", "M2", s1, elec),
                                                      ("A3", "C3", "M3", s2, water), ("A4", "C1", "M4", s1, elec)):
            accounts[meter] = Account(account_number=key, customer_id=customers[customer].id,
                                      meter_id=meters[meter].id, station_id=station.id, tariff_id=tariff.id,
                                      status="open", opened_at=now)
        s.add_all(accounts.values())
        s.flush()
        station_ids = {"S1": s1.id, "S2": s2.id}
        meter_ids = {key: meter.id for key, meter in meters.items()}
        district_ids = {s1.id: d1.id, s2.id: d2.id}
        tariffs = {"electricity": elec, "water": water}

    cashier_role_permissions = {"Station Auditor": ("reports.view", "reports.export"), "Station Viewer": ("reports.view",)}
    with ctx.db.session() as s:
        for name, permissions in cashier_role_permissions.items():
            role = Role(name=name, name_key=fold(name), created_at=now)
            s.add(role)
            s.flush()
            s.add_all(RolePermission(role_id=role.id, permission=p) for p in permissions)
    cashier1 = _actor(ctx, admin, "cashier1", "Station Auditor", station_ids["S1"])
    cashier2 = _actor(ctx, admin, "cashier2", "Station Viewer", station_ids["S2"])

    sales = [
        # number, when, station, meter, operator, payment, gross, net, excise, vat, units, paid, paid currency
        ("T1", _utc(2024, 1, 10, 9), "S1", "M1", cashier1, "cash", "100.00", "85.25", "1.71", "13.04", "200.0", None, "USD"),
        ("T2", _utc(2024, 1, 20, 10), "S1", "M2", cashier1, "cheque", "50.00", "42.63", "0.85", "6.52", "100.0", None, "USD"),
        ("T3", _utc(2024, 1, 31, 23, 30), "S2", "M3", cashier2, "e-card", "30.00", "28.57", "0.00", "1.43", "15.0", None, "USD"),
        ("T4", _utc(2024, 2, 15, 12), "S1", "M1", cashier1, "cash", "20.00", "17.05", "0.34", "2.61", "40.0", None, "USD"),
        ("T5", _utc(2024, 2, 16, 12), "S2", "M3", cashier2, "mobile", "30.00", "28.57", "0.00", "1.43", "15.0", "45000.00", "NGN"),
        ("T6", _utc(2024, 3, 5, 8), "S1", "M2", admin, "cash", "50.00", "42.63", "0.85", "6.52", "100.0", None, "USD"),
    ]
    with ctx.db.session() as s:
        for index, (number, when, station, meter, operator, payment, gross, net, excise, vat, units, paid,
                    paid_currency) in enumerate(sales, start=1):
            account = s.scalar(select(Account).where(Account.meter_id == meter_ids[meter]))
            tariff = s.get(Tariff, account.tariff_id)
            vend = Vend(
                transaction_number=number, receipt_number=f"{station}-{index:08d}", request_id=f"req-{number}",
                created_at=when, business_date=local_date(when, zone), source="tui", operator_id=operator.user_id,
                station_id=station_ids[station], district_id=district_ids[station_ids[station]],
                account_id=account.id, customer_id=account.customer_id, meter_id=meter_ids[meter],
                meter_number=f"0100000000{meter[1]}", tariff_id=tariff.id, tariff_name=tariff.name,
                utility=tariff.utility, unit=tariff.unit, price_per_unit=tariff.price_per_unit,
                vat_rate=tariff.vat_rate, excise_rate=tariff.excise_rate, prices_include_vat=True, mode="amount",
                payment_type=payment, paid_currency=paid_currency, paid_amount=D(paid or gross),
                exchange_rate=D("0.000667") if paid_currency == "NGN" else D(1), currency="USD",
                gross_amount=D(gross), vat_amount=D(vat), excise_amount=D(excise), net_amount=D(net),
                units=D(units), token=f"1111222233334444555{index}", tid=index,
            )
            s.add(vend)
            s.flush()
            reports.record_vend_in_daily_totals(s, vend)  # as the vending service does
        s.add(ReceiptPrint(receipt_number="S1-00000004", created_at=_utc(2024, 2, 15, 13),
                           business_date=date(2024, 2, 15), operator_id=cashier1.user_id,
                           station_id=station_ids["S1"], source="tui"))
        m1 = s.get(Meter, meter_ids["M1"])
        s.add(ManagementToken(transaction_number="MT1", receipt_number="S1-M1", request_id="req-MT1",
                              created_at=_utc(2024, 2, 15, 14), business_date=date(2024, 2, 15), source="tui",
                              operator_id=cashier1.user_id, station_id=station_ids["S1"], meter_id=m1.id,
                              meter_number=m1.meter_number, kind="clear_tamper", subclass=5,
                              token="99998888777766665555"))
    return Sales(ctx, admin, cashier1, cashier2, station_ids, meter_ids)


@pytest.fixture
def sales(ctx, admin) -> Sales:
    return build_sales(ctx, admin)


def _all_receipts(ctx, actor, filters=ReportFilters(), limit=50) -> list[str]:
    numbers, after = [], None
    while True:
        page = reports.receipts(ctx, actor, filters, after=after, limit=limit)
        numbers += [row.transaction_number for row in page.rows]
        if not page.has_more:
            return numbers
        after = page.next_key


# --- Receipt Report -----------------------------------------------------------


def test_receipts_newest_first_with_every_detail(sales):
    page = reports.receipts(sales.ctx, sales.admin, ReportFilters())
    assert [r.transaction_number for r in page.rows] == ["T6", "T5", "T4", "T3", "T2", "T1"]
    t3 = page.rows[3]
    assert (t3.district, t3.customer, t3.meter_number, t3.account_number) == ("South", "Chi Eze", "01000000003", "A3")
    assert (t3.payment_type, t3.gross_amount, t3.vat_amount, t3.units) == ("e-card", D("30.00"), D("1.43"), D("15.0"))
    assert (t3.operator, t3.station, t3.business_date) == ("cashier2", "Harbour", date(2024, 2, 1))
    assert t3.created_at.strftime("%Y-%m-%d %H:%M") == "2024-02-01 00:30"  # shown in Lagos time
    assert page.rows[0].operator == "Admin"
    assert page.rows[1].paid_amount == D("45000.00") and page.rows[1].paid_currency == "NGN"


def test_receipts_page_by_page(sales):
    assert _all_receipts(sales.ctx, sales.admin, limit=2) == ["T6", "T5", "T4", "T3", "T2", "T1"]


@pytest.mark.parametrize(
    "filters, expected",
    [
        (ReportFilters(payment_type="CASH"), ["T6", "T4", "T1"]),
        (ReportFilters(district="d2"), ["T5", "T3"]),
        (ReportFilters(station="S1"), ["T6", "T4", "T2", "T1"]),
        (ReportFilters(operator="cashier1"), ["T4", "T2", "T1"]),
        (ReportFilters(utility="water"), ["T5", "T3"]),
        (ReportFilters(meter_number="01000000001"), ["T4", "T1"]),
        (ReportFilters(customer="c2"), ["T6", "T2"]),
        (ReportFilters(date_from=date(2024, 2, 1), date_to=date(2024, 2, 29)), ["T5", "T4", "T3"]),
        (ReportFilters(date_to=date(2024, 1, 31)), ["T2", "T1"]),
        (ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 3, 31), station="S1", payment_type="cash"),
         ["T6", "T4", "T1"]),
    ],
)
def test_receipt_filters_narrow(sales, filters, expected):
    assert _all_receipts(sales.ctx, sales.admin, filters, limit=2) == expected


def test_receipt_totals_per_currency_pair(sales):
    totals = reports.receipt_totals(sales.ctx, sales.admin, ReportFilters())
    by_pair = {(t.paid_currency, t.currency): t for t in totals}
    usd = by_pair[("USD", "USD")]
    assert (usd.vend_count, usd.paid_amount, usd.gross_amount) == (5, D("250.00"), D("250.00"))
    assert (usd.vat_amount, usd.excise_amount, usd.net_amount) == (D("30.12"), D("3.75"), D("216.13"))
    # T3 sold 15.0 m3 of water, the other four USD sales 440.0 kWh: never one sum of 455.0 "units".
    assert usd.units is None
    assert usd.units_by_utility == (("electricity", "kWh", D("440.0")), ("water", "m3", D("15.0")))
    ngn = by_pair[("NGN", "USD")]
    assert (ngn.vend_count, ngn.paid_amount, ngn.gross_amount, ngn.vat_amount) == (1, D("45000.00"), D("30.00"), D("1.43"))
    assert (ngn.units, ngn.units_by_utility) == (D("15.0"), (("water", "m3", D("15.0")),))


def test_receipt_total_rows_line_up_with_their_columns_and_keep_units_apart(sales):
    totals = reports.receipt_totals(sales.ctx, sales.admin, ReportFilters())
    columns = [column.title for column in RECEIPT_COLUMNS]
    rows = receipt_totals_values(totals)
    assert all(len(row) == len(columns) for row in rows)
    by_label = {row[0]: dict(zip(columns, row)) for row in rows}
    usd = by_label["Total: 5 sales"]
    assert (usd["Paid"], usd["Cur"], usd["Gross"], usd["Units"], usd["Token"]) == (
        D("250.00"), "USD", D("250.00"), None, None)
    assert by_label["Total electricity (kWh)"]["Units"] == D("440.0")
    assert by_label["Total water (m3)"]["Units"] == D("15.0")


def test_receipt_totals_with_a_meter_filter_sum_the_single_sales(sales):
    [total] = reports.receipt_totals(sales.ctx, sales.admin, ReportFilters(meter_number="01000000001"))
    assert (total.vend_count, total.gross_amount, total.vat_amount, total.excise_amount, total.net_amount) == (
        2, D("120.00"), D("15.65"), D("2.05"), D("102.30"))


def test_unknown_filter_codes_get_one_clear_message(sales):
    with pytest.raises(ValidationError, match="no district with code D9") as error:
        reports.receipts(sales.ctx, sales.admin, ReportFilters(district="D9"))
    assert error.value.field == "district"
    with pytest.raises(ValidationError, match="no payment type bitcoin; use one of cash, cheque"):
        reports.receipts(sales.ctx, sales.admin, ReportFilters(payment_type="bitcoin"))
    with pytest.raises(ValidationError, match="start date is after the end date"):
        reports.receipts(sales.ctx, sales.admin, ReportFilters(date_from=date(2024, 3, 1), date_to=date(2024, 2, 1)))
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        reports.parse_date("31/01/2024", "date_from")


# --- Station limit and permissions ---------------------------------------------


def test_operator_without_all_stations_sees_only_their_station(sales):
    assert _all_receipts(sales.ctx, sales.cashier1) == ["T6", "T4", "T2", "T1"]
    # Asking for another station changes nothing: the limit wins.
    assert _all_receipts(sales.ctx, sales.cashier1, ReportFilters(station="S2")) == ["T6", "T4", "T2", "T1"]
    assert _all_receipts(sales.ctx, sales.cashier2, ReportFilters(station="S1")) == ["T5", "T3"]
    [split] = reports.station_payments(sales.ctx, sales.cashier2, ReportFilters()).rows
    assert (split.code, split.gross_amount) == ("S2", D("60.00"))
    rows = reports.district_report(sales.ctx, sales.cashier1, ReportFilters()).rows
    assert [(r.station_code, r.total) for r in rows] == [("S1", D("220.00"))]
    lookup = reports.transactions(sales.ctx, sales.cashier1, ["T1", "T3"])
    assert [t.transaction_number for t in lookup.found] == ["T1"] and lookup.missing == ["T3"]
    silent = reports.silent_meters(sales.ctx, sales.cashier2, ReportFilters(date_from=date(2024, 3, 1),
                                                                           date_to=date(2024, 3, 31)))
    assert [r.meter_number for r in silent.rows] == ["01000000003"]
    drill = reports.customer_payments(sales.ctx, sales.cashier1, ReportFilters(), sales.station_ids["S2"])
    assert drill.station[1] == "S1"


def test_station_limited_operator_without_a_station_is_refused(ctx, admin, sales):
    lost = _actor(ctx, admin, "roamer", "Station Viewer", None)
    with pytest.raises(PermissionDenied, match="not assigned to a sales station"):
        reports.receipts(ctx, lost, ReportFilters())


def test_reports_need_the_view_permission(ctx, admin, sales):
    seller = _actor(ctx, admin, "seller", "OnlyVending", sales.station_ids["S1"])
    with pytest.raises(PermissionDenied, match="may not view reports"):
        reports.monthly_summary(ctx, seller, ReportFilters())
    with pytest.raises(PermissionDenied, match="may not export reports"):
        reports.export_report(ctx, sales.cashier2, "monthly", "xlsx")


# --- Monthly Summary -----------------------------------------------------------


def test_monthly_summary_by_business_month_and_utility(sales):
    summary = reports.monthly_summary(sales.ctx, sales.admin, ReportFilters())
    got = [(r.label, r.utility, r.vend_count, r.gross_amount, r.vat_amount, r.excise_amount, r.net_amount, r.units)
           for r in summary.rows]
    assert got == [
        ("2024-01", "electricity", 2, D("150.00"), D("19.56"), D("2.56"), D("127.88"), D("300.0")),
        ("2024-02", "electricity", 1, D("20.00"), D("2.61"), D("0.34"), D("17.05"), D("40.0")),
        ("2024-02", "water", 2, D("60.00"), D("2.86"), D("0.00"), D("57.14"), D("30.0")),
        ("2024-03", "electricity", 1, D("50.00"), D("6.52"), D("0.85"), D("42.63"), D("100.0")),
    ]
    totals = {t.utility: t for t in summary.totals}
    elec = totals["electricity"]
    assert (elec.vend_count, elec.gross_amount, elec.vat_amount, elec.excise_amount, elec.net_amount, elec.units) == (
        4, D("220.00"), D("28.69"), D("3.75"), D("187.56"), D("440.0"))
    assert elec.net_amount + elec.excise_amount + elec.vat_amount == elec.gross_amount
    assert totals["water"].gross_amount == D("60.00")


def test_monthly_summary_from_single_sales_matches_when_a_customer_is_chosen(sales):
    summary = reports.monthly_summary(sales.ctx, sales.admin, ReportFilters(customer="C1"))
    assert [(r.label, r.vend_count, r.gross_amount, r.vat_amount) for r in summary.rows] == [
        ("2024-01", 1, D("100.00"), D("13.04")), ("2024-02", 1, D("20.00"), D("2.61"))]


# --- Customer Payment Report ------------------------------------------------------


def test_station_payments_split_by_payment_type(sales):
    split = reports.station_payments(sales.ctx, sales.admin, ReportFilters())
    assert [code for code, _ in split.payment_types][:5] == ["cash", "cheque", "e-card", "mobile", "transfer"]
    s1, s2 = split.rows
    assert (s1.code, s1.vend_count, s1.gross_amount) == ("S1", 4, D("220.00"))
    assert (s1.amount_for("cash"), s1.count_for("cash"), s1.amount_for("cheque"), s1.amount_for("mobile")) == (
        D("170.00"), 3, D("50.00"), D("0"))
    assert (s2.code, s2.vend_count, s2.amount_for("e-card"), s2.amount_for("mobile")) == ("S2", 2, D("30.00"), D("30.00"))
    [total] = split.totals
    assert (total.vend_count, total.gross_amount, total.amount_for("cash")) == (6, D("280.00"), D("170.00"))


def test_customer_payments_drill_down(sales):
    drill = reports.customer_payments(sales.ctx, sales.admin, ReportFilters(), sales.station_ids["S1"])
    got = [(r.code, r.vend_count, r.gross_amount, r.amount_for("cash"), r.amount_for("cheque")) for r in drill.rows]
    assert got == [("C1", 2, D("120.00"), D("120.00"), D("0")), ("C2", 2, D("100.00"), D("50.00"), D("50.00"))]
    customer_sales = _all_receipts(sales.ctx, sales.admin, ReportFilters(customer="C2"))
    assert customer_sales == ["T6", "T2"]


# --- Transaction Number Report -----------------------------------------------------


def test_transaction_lookup(sales):
    lookup = reports.transactions(sales.ctx, sales.admin, reports.split_numbers("T4, T5;nope T4"))
    assert [t.transaction_number for t in lookup.found] == ["T4", "T5"]
    assert lookup.missing == ["nope"]
    t4, t5 = lookup.found
    assert (t4.customer, t4.meter_number, t4.account_number, t4.gross_amount, t4.reprints) == (
        "Ada Obi", "01000000001", "A1", D("20.00"), 1)
    assert (t5.paid_amount, t5.paid_currency, t5.exchange_rate, t5.tariff_name) == (
        D("45000.00"), "NGN", D("0.000667"), "Water")
    with pytest.raises(ValidationError, match="Type one or more"):
        reports.transactions(sales.ctx, sales.admin, [])


# --- District Report ---------------------------------------------------------------


def test_district_report(sales):
    report = reports.district_report(sales.ctx, sales.admin, ReportFilters())
    got = [(r.district_code, r.station_code, r.vend_count, r.cash, r.cheque, r.e_card, r.other, r.total)
           for r in report.rows]
    assert got == [("D1", "S1", 4, D("170.00"), D("50.00"), D("0.00"), D("0.00"), D("220.00")),
                   ("D2", "S2", 2, D("0.00"), D("0.00"), D("30.00"), D("30.00"), D("60.00"))]
    [total] = report.totals
    assert (total.vend_count, total.cash, total.cheque, total.e_card, total.other, total.total) == (
        6, D("170.00"), D("50.00"), D("30.00"), D("30.00"), D("280.00"))
    february = reports.district_report(sales.ctx, sales.admin, ReportFilters(date_from=date(2024, 2, 1),
                                                                            date_to=date(2024, 2, 29)))
    assert [(r.station_code, r.vend_count, r.total) for r in february.rows] == [("S1", 1, D("20.00")),
                                                                                 ("S2", 2, D("60.00"))]


# --- Non-Vending Meter Report --------------------------------------------------------


@pytest.mark.parametrize(
    "day_from, day_to, silent",
    [
        (date(2024, 2, 1), date(2024, 3, 31), ["01000000004", "01000000005"]),
        (date(2024, 3, 1), date(2024, 3, 31), ["01000000001", "01000000003", "01000000004", "01000000005"]),
        # M3's last sale (Feb 16) is after January and its Jan 31 23:30 UTC sale fell on Feb 1: silent in January.
        (date(2024, 1, 1), date(2024, 1, 31), ["01000000003", "01000000004", "01000000005"]),
    ],
)
@pytest.mark.parametrize("window", [1, 3, 2000])  # pages from the silent range, mixed, from the walk by number
def test_non_vending_meters_are_exactly_the_silent_ones(sales, day_from, day_to, silent, window, monkeypatch):
    monkeypatch.setattr(non_vending, "SILENT_WINDOW", window)
    filters = ReportFilters(date_from=day_from, date_to=day_to)
    numbers, after = [], None
    while True:
        page = reports.silent_meters(sales.ctx, sales.admin, filters, after=after, limit=2)
        numbers += [r.meter_number for r in page.rows]
        if not page.has_more:
            break
        after = page.next_key
    assert numbers == silent
    assert reports.silent_meter_count(sales.ctx, sales.admin, filters) == len(silent)


def test_non_vending_rows_show_customer_account_district_and_last_sale(sales):
    page = reports.silent_meters(sales.ctx, sales.admin, ReportFilters(date_from=date(2024, 3, 1)))
    by_number = {r.meter_number: r for r in page.rows}
    m1 = by_number["01000000001"]
    assert (m1.customer, m1.account_number, m1.district, m1.station, m1.last_vend_date) == (
        "Ada Obi", "A1", "North", "Market Hall", date(2024, 2, 15))
    assert by_number["01000000004"].last_vend_date is None and by_number["01000000004"].account_number == "A4"
    assert by_number["01000000005"].customer == ""
    with pytest.raises(ValidationError, match="start of the period"):
        reports.silent_meters(sales.ctx, sales.admin, ReportFilters())


def _silent_numbers(ctx, admin, day_from=date(2024, 1, 1)) -> list[str]:
    filters = ReportFilters(date_from=day_from)
    numbers = [r.meter_number for r in reports.silent_meters(ctx, admin, filters, limit=500).rows]
    assert reports.silent_meter_count(ctx, admin, filters) == len(numbers)
    return numbers


def test_a_new_meter_is_in_the_non_vending_report_at_once_however_it_was_made(ctx, admin, tmp_path):
    from tests.services.basedata_helpers import drn, meter_values, seed
    from tests.services.test_basedata_excel import METER_HEADER, meter_row, write_sheet

    from stron_tui.services import libraries
    from stron_tui.services.excel_io import import_library
    from stron_tui.services.meters import create_batch

    seed(ctx, admin, meters=1)  # one meter from the Base Data form
    assert _silent_numbers(ctx, admin) == [drn(1)]
    create_batch(ctx, admin, drn(10), drn(12), meter_values(drn(10)))
    report = import_library(ctx, admin, "meters", write_sheet(tmp_path / "m.xlsx", METER_HEADER, [meter_row(drn(20))]))
    assert report.ok, report.errors
    assert _silent_numbers(ctx, admin) == [drn(1), drn(10), drn(11), drn(12), drn(20)]
    # A meter with no sales can still be removed, its last-sale row with it.
    meter = libraries.find(ctx, admin, "meters", drn(11))
    libraries.remove(ctx, admin, "meters", meter.id)
    assert _silent_numbers(ctx, admin) == [drn(1), drn(10), drn(12), drn(20)]
    with ctx.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(MeterVendActivity)) == 4


def test_the_first_sale_of_a_never_sold_meter_fills_its_last_sale(sales):
    from types import SimpleNamespace

    # A Vend-like object: record_vend_in_daily_totals reads only these attributes.
    m4 = sales.meter_ids["M4"]
    sale = SimpleNamespace(id=1_000_001, meter_id=m4, business_date=date(2024, 3, 20), created_at=_utc(2024, 3, 20, 9),
                           station_id=sales.station_ids["S1"], operator_id=None, district_id=None,
                           utility="electricity",
                           payment_type="cash", paid_currency="USD", currency="USD", paid_amount=D("10"),
                           gross_amount=D("10"), vat_amount=D("1.30"), excise_amount=D("0.17"),
                           net_amount=D("8.53"), units=D("20.0"))
    with sales.ctx.db.read_session() as s:
        sale.district_id = s.get(SalesStation, sales.station_ids["S1"]).district_id
    with sales.ctx.db.session() as s:
        reports.record_vend_in_daily_totals(s, sale)
    with sales.ctx.db.read_session() as s:
        row = s.get(MeterVendActivity, m4)
        assert (row.last_business_date, row.vend_count) == (date(2024, 3, 20), 1)
    silent = [r.meter_number for r in reports.silent_meters(sales.ctx, sales.admin,
                                                            ReportFilters(date_from=date(2024, 3, 1))).rows]
    assert silent == ["01000000001", "01000000003", "01000000005"]


# --- Cash-up -----------------------------------------------------------------------


def test_cashup_per_operator_and_day(sales):
    report = reports.cashup(sales.ctx, sales.admin, ReportFilters(date_from=date(2024, 2, 15),
                                                                 date_to=date(2024, 2, 16)))
    got = [(l.operator, l.business_date, l.item, l.currency, l.count, l.amount) for l in report.lines]
    assert got == [
        ("cashier1", date(2024, 2, 15), "Sales: Cash", "USD", 1, D("20.00")),
        ("cashier1", date(2024, 2, 15), "Reprints", "", 1, None),
        ("cashier1", date(2024, 2, 15), "Token: clear_tamper", "", 1, None),
        ("cashier2", date(2024, 2, 16), "Sales: Mobile money", "NGN", 1, D("45000.00")),
    ]


def test_cashup_over_a_period_for_one_operator(sales):
    report = reports.cashup(sales.ctx, sales.admin, ReportFilters(operator="cashier1"), by_day=False)
    got = [(l.operator, l.business_date, l.item, l.currency, l.count, l.amount) for l in report.lines]
    assert got == [
        ("cashier1", None, "Sales: Cash", "USD", 2, D("120.00")),
        ("cashier1", None, "Sales: Cheque", "USD", 1, D("50.00")),
        ("cashier1", None, "Reprints", "", 1, None),
        ("cashier1", None, "Token: clear_tamper", "", 1, None),
    ]
    totals = {(t.item, t.currency): (t.count, t.amount) for t in report.totals}
    assert totals[("Sales: Cash", "USD")] == (2, D("120.00"))


# --- Daily totals hook ---------------------------------------------------------------


def test_daily_totals_hold_what_the_sales_add_up_to(sales):
    with sales.ctx.db.read_session() as s:
        rows = s.execute(select(func.count(), func.sum(VendDailyTotal.vend_count),
                                func.sum(VendDailyTotal.gross_amount))).one()
        assert (rows[0], rows[1], D(rows[2]).quantize(D("0.01"))) == (6, 6, D("280.00"))
        activity = dict(s.execute(select(MeterVendActivity.meter_id, MeterVendActivity.last_business_date)).all())
    assert activity == {sales.meter_ids["M1"]: date(2024, 2, 15), sales.meter_ids["M2"]: date(2024, 3, 5),
                        sales.meter_ids["M3"]: date(2024, 2, 16), sales.meter_ids["M4"]: None,
                        sales.meter_ids["M5"]: None, sales.meter_ids["M6"]: None}


def test_a_second_sale_on_the_same_key_adds_to_the_row_and_a_lost_race_retries(sales):
    from stron_tui.services.reports import aggregates

    ctx = sales.ctx
    with ctx.db.session() as s:
        vend = s.scalar(select(Vend).where(Vend.transaction_number == "T1"))
        key = aggregates._daily_key(vend)
        amounts = {name: D(getattr(vend, name)) for name in aggregates.AMOUNT_FIELDS}
        calls = []

        def update_that_missed_the_row_once():
            calls.append(1)
            # First call pretends another transaction inserted the row after our UPDATE.
            return False if len(calls) == 1 else aggregates._add_to_existing_day(s, key, amounts)

        aggregates._update_or_insert(s, update_that_missed_the_row_once, VendDailyTotal.__table__,
                                     dict(**key, vend_count=1, **amounts))
        assert len(calls) == 2
    with ctx.db.read_session() as s:
        row = s.scalar(select(VendDailyTotal).where(VendDailyTotal.business_date == date(2024, 1, 10)))
        assert (row.vend_count, D(row.gross_amount).quantize(D("0.01"))) == (2, D("200.00"))


def test_rebuild_gives_the_same_totals(sales):
    before = reports.monthly_summary(sales.ctx, sales.admin, ReportFilters())
    with sales.ctx.db.session() as s:
        reports.rebuild_report_aggregates(s)
    assert reports.monthly_summary(sales.ctx, sales.admin, ReportFilters()) == before


# --- SQL Server -----------------------------------------------------------------------


def test_report_queries_compile_for_sql_server():
    from sqlalchemy.dialects import mssql

    from stron_tui.db.queries import keyset_page
    from stron_tui.services.reports.catalog.districts import district_query
    from stron_tui.services.reports.catalog.monthly import monthly_query
    from stron_tui.services.reports.catalog.non_vending import (silent_meter_count_query, silent_meter_details,
                                                                silent_meter_query)
    from stron_tui.services.reports.catalog.receipts import receipt_query
    from stron_tui.services.reports.scope import Scope

    dialect = mssql.dialect(deprecate_large_types=True)
    dialect.server_version_info = (16, 0)
    dialect._supports_offset_fetch = True
    zone = datetime.now().astimezone().tzinfo
    scope = Scope(date_from=date(2024, 1, 1), date_to=date(2024, 3, 31), station_id=1, payment_type="cash")
    receipts_query, _ = keyset_page(receipt_query(scope, zone), [Vend.created_at, Vend.id],
                                    after=(_utc(2024, 3, 1), 10), limit=50, descending=True, key_of=None)
    sql = str(receipts_query.compile(dialect=dialect))
    assert "TOP" in sql or "FETCH" in sql
    assert "ORDER BY vends.created_at DESC, vends.id DESC" in sql
    monthly = str(monthly_query(scope).compile(dialect=dialect))
    assert "DATEPART(year, vend_daily_totals.business_date)" in monthly
    assert "GROUP BY DATEPART(year" in monthly
    by_customer = str(monthly_query(Scope(customer_id=3)).compile(dialect=dialect))
    assert "FROM vends" in by_customer
    district = str(district_query(scope).compile(dialect=dialect))
    assert "CASE WHEN" in district
    silent, _ = keyset_page(silent_meter_query(scope, date(2024, 1, 1), date(2024, 3, 31)),
                            [Meter.meter_number], after=("0100",), limit=50, key_of=None)
    silent_sql = str(silent_meter_details(silent).compile(dialect=dialect))
    assert silent_sql.startswith("WITH silent AS \n(SELECT") and "MATERIALIZED" not in silent_sql
    assert "meter_vend_activity.last_business_date IS NULL UNION ALL" in silent_sql
    assert "TOP" in silent_sql or "FETCH" in silent_sql
    count_sql = str(silent_meter_count_query(scope, date(2024, 1, 1), date(2024, 3, 31)).compile(dialect=dialect))
    assert "count(*)" in count_sql and "NOT (EXISTS (SELECT" in count_sql


# --- Exports ---------------------------------------------------------------------------


def _sheet_rows(path):
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    rows = [tuple(row) for row in workbook.active.iter_rows(values_only=True)]
    workbook.close()
    return rows


def test_receipt_export_to_excel_holds_the_screen_rows_and_totals(sales, test_settings):
    progress = []
    result = reports.export_report(sales.ctx, sales.admin, "receipts", "xlsx",
                                   ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 3, 31)),
                                   progress=lambda done, total: progress.append((done, total)))
    assert result.rows == 6 and result.path.parent == test_settings.export_dir / f"u{sales.admin.user_id}"
    assert progress[-1] == (6, 6)
    rows = _sheet_rows(result.path)
    assert rows[0][0] == "Receipt Report" and rows[2][0] == "Period: 2024-01-01 to 2024-03-31"
    header = rows.index(tuple(c.title for c in RECEIPT_COLUMNS))
    data = rows[header + 1:header + 7]
    screen = reports.receipts(sales.ctx, sales.admin, ReportFilters()).rows
    assert [r[2] for r in data] == [r.transaction_number for r in screen]
    assert [D(str(r[10])) for r in data] == [r.gross_amount for r in screen]
    assert data[0][0] == datetime(2024, 3, 5, 9, 0)  # local time
    assert data[0][15] == "1111 2222 3333 4444 5556"
    totals = rows[header + 7:]
    assert [t[0] for t in totals] == ["Total: 1 sales", "Total: 5 sales", "Total electricity (kWh)",
                                      "Total water (m3)"]
    assert [D(str(t[10])) for t in totals[:2]] == [D("30"), D("250")]
    assert D(str(totals[1][11])).quantize(D("0.01")) == D("30.12")
    assert (totals[1][14], totals[1][15], totals[2][14], totals[3][14]) == (None, None, 440, 15)  # Units, Token
    with sales.ctx.db.read_session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "report.export"))
        assert entry.entity_id == "receipts" and "6 rows" in entry.summary and entry.user_code == "Admin"


def test_summary_exports_hold_the_same_figures(sales):
    monthly = reports.export_report(sales.ctx, sales.admin, "monthly", "xlsx")
    rows = _sheet_rows(monthly.path)
    assert ("2024-02", "water", "USD", 2, 0, 60, 2.86, 0, 57.14, 30) in rows
    assert ("Total", "electricity", "USD", 4, 0, 220, 28.69, 3.75, 187.56, 440) in rows
    district = reports.export_report(sales.ctx, sales.admin, "districts", "csv")
    lines = district.path.read_text().splitlines()
    assert lines[0] == ("District,District name,Station,Station name,Currency,Charges,Reversed,Cash,Cheque,E-card,"
                        "Other,Total revenue")
    assert lines[1] == "D1,North,S1,Market Hall,USD,4,0,170.00,50.00,0.00,0.00,220.00"
    assert lines[-1] == "Total,,,,USD,6,0,170.00,50.00,30.00,30.00,280.00"
    payments = reports.export_report(sales.ctx, sales.admin, "payments", "csv")
    assert payments.path.read_text().splitlines()[1].startswith("S1,Market Hall,USD,4,0,220.00,170.00,50.00,0,0")
    cash = reports.export_report(sales.ctx, sales.admin, "cashup", "csv", ReportFilters(operator="cashier1"),
                                 by_day=False)
    assert ",,Reprints,,1," in cash.path.read_text()
    silent = reports.export_report(sales.ctx, sales.admin, "non_vending", "xlsx",
                                   ReportFilters(date_from=date(2024, 3, 1)))
    assert silent.rows == 4
    assert [r[0] for r in _sheet_rows(silent.path)][-5:] == ["01000000001", "01000000003", "01000000004",
                                                             "01000000005", "Total: 4 meters"]
    found = reports.export_report(sales.ctx, sales.admin, "transactions", "csv", numbers=["T2", "X"])
    text = found.path.read_text()
    assert "T2,S1-00000002" in text and found.rows == 1


def test_pdf_export_renders_title_filters_rows_and_totals(sales):
    from pypdf import PdfReader

    result = reports.export_report(sales.ctx, sales.admin, "districts", "pdf", ReportFilters(district="D1"))
    text = "\n".join(page.extract_text() for page in PdfReader(result.path).pages)
    assert "District Report" in text and "District: D1 North" in text and re.search(r"Page 1 of\s*1", text)
    assert "Market Hall" in text and "220.00" in text and "Total" in text


def test_station_limited_export_is_limited_too(sales):
    result = reports.export_report(sales.ctx, sales.cashier1, "receipts", "csv", ReportFilters(station="S2"))
    assert result.rows == 4
    assert "Harbour" not in result.path.read_text()


def test_a_cancelled_export_leaves_no_file(sales):
    from stron_tui.exports.files import ExportCancelled

    def cancel(done, total):
        raise ExportCancelled("Export cancelled.")

    with pytest.raises(ExportCancelled):
        reports.export_report(sales.ctx, sales.admin, "receipts", "xlsx", progress=cancel)
    directory = sales.ctx.settings.export_dir / f"u{sales.admin.user_id}"
    assert not any(directory.iterdir())
