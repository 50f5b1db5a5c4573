"""Shifts, hand-worked: open with a float, sell, close by declaring the drawer, over/short, sign-off."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from stron_tui.db.models import AuditEntry, Shift, Vend
from stron_tui.errors import Conflict, PermissionDenied, ValidationError
from stron_tui.services import management, money_settings, receipts, reversals, shifts
from stron_tui.domain.clock import utcnow
from stron_tui.services.management import ManagementRequest
from stron_tui.services.shifts import NoOpenShift
from stron_tui.services.vending import new_request_id
from tests.cash_helpers import PAYMENT, cashier, sell, snapshot, supervisor
from tests.factories import add_meter, build_world


@pytest.fixture
def world(shifts_on, admin):
    return build_world(shifts_on)


@pytest.fixture
def meter(world):
    return add_meter(world, "4840000001")


@pytest.fixture
def till(ctx, admin, world):
    return cashier(ctx, admin, world)


@pytest.fixture
def boss(ctx, admin, world):
    return supervisor(ctx, admin, world)


def lines(view):
    return {(line.payment_type, line.currency): (line.opening_float, line.expected, line.declared, line.over_short)
            for line in view.lines}


@pytest.mark.parametrize("declared, over_short", [("80.00", Decimal("0")), ("82.50", Decimal("2.50")),
                                                  ("75", Decimal("-5.00"))])
def test_close_exact_over_and_short(ctx, till, meter, declared, over_short):
    shifts.open_shift(ctx, till, {"USD": "50"})
    sell(ctx, till, meter, "10")
    sell(ctx, till, meter, "20")
    # expected cash USD = 50.00 float + 10.00 + 20.00 = 80.00; over/short = declared - 80.00
    closed = shifts.close_shift(ctx, till, {("cash", "USD"): declared})
    assert closed.status == "closed"
    assert lines(closed) == {("cash", "USD"): (Decimal("50"), Decimal("80.00"), Decimal(declared), over_short)}


def test_two_currencies_and_two_payment_types(ctx, admin, till, meter):
    money_settings.add_rate(ctx, admin, from_currency="EUR", to_currency="USD", rate="1.10")
    shifts.open_shift(ctx, till, {"USD": "50", "EUR": "20"})
    sell(ctx, till, meter, "10")
    sell(ctx, till, meter, "10", currency="EUR")  # 10.00 EUR paid (11.00 USD of credit)
    sell(ctx, till, meter, "5", payment_type="mobile")
    closed = shifts.close_shift(ctx, till, {("cash", "USD"): "60", ("cash", "EUR"): "29", ("mobile", "USD"): "5"})
    # cash USD 50 + 10 = 60 (exact); cash EUR 20 + 10 = 30, 29 declared (1.00 short); mobile USD 0 + 5 = 5
    assert lines(closed) == {
        ("cash", "USD"): (Decimal("50"), Decimal("60.00"), Decimal("60"), Decimal("0")),
        ("cash", "EUR"): (Decimal("20"), Decimal("30.00"), Decimal("29"), Decimal("-1.00")),
        ("mobile", "USD"): (Decimal("0"), Decimal("5.00"), Decimal("5"), Decimal("0")),
    }


def test_a_reversal_in_the_shift_is_taken_off_expected(ctx, till, boss, meter):
    shifts.open_shift(ctx, till, {"USD": "50"})
    wrong = sell(ctx, till, meter, "10")
    sell(ctx, till, meter, "20")
    reversals.reverse(ctx, boss, wrong.receipt_number, reason="wrong meter", token_declared_unused=True,
                      request_id=new_request_id(), payment_password=PAYMENT)
    assert lines(shifts.current_shift(ctx, till))[("cash", "USD")][1] == Decimal("70.00")  # 50 + 10 + 20 - 10
    closed = shifts.close_shift(ctx, till, {("cash", "USD"): "70"})
    assert lines(closed)[("cash", "USD")] == (Decimal("50"), Decimal("70.00"), Decimal("70"), Decimal("0"))
    report = shifts.shift_report(ctx, boss, closed.number)
    assert [sale.reversed for sale in report.sales] == [True, False]
    assert len(report.reversals) == 1 and wrong.receipt_number in report.reversals[0].what


def test_selling_needs_an_open_shift_at_a_station(ctx, till, meter):
    before = snapshot(ctx)
    with pytest.raises(NoOpenShift, match="Open a shift first"):
        sell(ctx, till, meter, "10")
    from stron_tui.services import vending

    with pytest.raises(NoOpenShift, match="Open a shift first"):
        vending.preview(ctx, till, vending.VendRequest(meter, "amount", "10", request_id=new_request_id()))
    assert snapshot(ctx) == before
    shifts.open_shift(ctx, till, {})
    sell(ctx, till, meter, "10")
    shifts.close_shift(ctx, till, {("cash", "USD"): "10"})
    with pytest.raises(NoOpenShift):
        sell(ctx, till, meter, "10")


def test_the_setting_turns_the_requirement_off(ctx, till, meter):
    ctx.settings = ctx.settings.with_overrides(shift_required=False)
    assert sell(ctx, till, meter, "10").token


@pytest.mark.parametrize("declared, message", [
    ({("cash", "USD"): "-1"}, "can't be negative"),
    ({("cash", "USD"): "ten"}, "must be a number"),
    ({("cash", "USD"): "1.005"}, "2 decimal places"),
    ({}, "Declare the cash in USD"),
    ({("cash", "USD"): "10", ("barter", "USD"): "1"}, "barter is not a payment type"),
])
def test_bad_counts_change_nothing(ctx, till, meter, declared, message):
    shifts.open_shift(ctx, till, {"USD": "0"})
    sell(ctx, till, meter, "10")
    before = snapshot(ctx)
    with pytest.raises(ValidationError, match=message):
        shifts.close_shift(ctx, till, declared)
    assert snapshot(ctx) == before


def test_opening_refusals(ctx, till):
    with pytest.raises(ValidationError, match="can't be negative"):
        shifts.open_shift(ctx, till, {"USD": "-5"})
    with pytest.raises(ValidationError, match="XYZ is not a currency"):
        shifts.open_shift(ctx, till, {"XYZ": "5"})
    shifts.open_shift(ctx, till, {"USD": "5"})
    before = snapshot(ctx)
    with pytest.raises(Conflict, match="already have an open shift"):
        shifts.open_shift(ctx, till, {"USD": "5"})
    assert snapshot(ctx) == before


def test_sign_off_with_payment_password_and_note(ctx, admin, world, till, boss, meter):
    opened = shifts.open_shift(ctx, till, {"USD": "0"})
    with pytest.raises(ValidationError, match="still open"):
        shifts.sign_off(ctx, boss, opened.number, payment_password=PAYMENT, note="")
    sell(ctx, till, meter, "10")
    shifts.close_shift(ctx, till, {("cash", "USD"): "9"})
    other = supervisor(ctx, admin, world, user_code="super9")
    shifts.open_shift(ctx, other, {})
    shifts.close_shift(ctx, other, {})
    own = shifts.list_shifts(ctx, other, status="closed")[0]
    with pytest.raises(PermissionDenied, match="not their own"):
        shifts.sign_off(ctx, other, own.number, payment_password=PAYMENT, note="")
    signed = shifts.sign_off(ctx, boss, opened.number, payment_password=PAYMENT, note="1.00 short: paid back")
    assert (signed.status, signed.signed_off_by, signed.note) == ("signed", "super1", "1.00 short: paid back")
    with pytest.raises(Conflict, match="already signed off"):
        shifts.sign_off(ctx, boss, opened.number, payment_password=PAYMENT, note="")
    with ctx.db.read_session() as session:
        assert session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "shift.sign_off")).endswith(
            "paid back")


def test_long_open_shift_is_flagged_and_report_lists_everything(ctx, admin, till, boss, meter):
    opened = shifts.open_shift(ctx, till, {"USD": "10"})
    sale = sell(ctx, till, meter, "10")
    receipts.reprint_receipt(ctx, till, sale.receipt_number)
    assert not shifts.list_shifts(ctx, boss, status="open")[0].long_open
    with ctx.db.session() as session:
        session.execute(update(Shift).values(opened_at=utcnow() - timedelta(hours=13)))
    assert shifts.list_shifts(ctx, boss, status="open")[0].long_open
    report = shifts.shift_report(ctx, boss, opened.number)
    assert [s.receipt_number for s in report.sales] == [sale.receipt_number]
    assert [p.number for p in report.reprints] == [sale.receipt_number]


def test_shift_report_files_list_every_sale_reversal_and_reprint(ctx, till, boss, meter):
    from python_calamine import CalamineWorkbook

    opened = shifts.open_shift(ctx, till, {"USD": "10"})
    first = sell(ctx, till, meter, "10")
    sell(ctx, till, meter, "7")
    receipts.reprint_receipt(ctx, till, first.receipt_number)
    reversals.reverse(ctx, boss, first.receipt_number, reason="wrong meter", token_declared_unused=False,
                      request_id=new_request_id(), payment_password=PAYMENT)
    shifts.close_shift(ctx, till, {("cash", "USD"): "17"})
    path = shifts.export_shift_report(ctx, boss, opened.number, "xlsx")
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    kinds = [row[1] for row in rows if row[1] in ("sale", "reversal", "reprint", "management")]
    assert sorted(kinds) == ["reprint", "reversal", "sale", "sale"]
    assert any("expected 17.00, declared 17.00, over/short 0.00" in str(row[0]) for row in rows)
    pdf = shifts.export_shift_report(ctx, boss, opened.number, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_cash_up_gains_reversals_and_shifts(ctx, till, boss, meter):
    from stron_tui.services import reports
    from stron_tui.services.reports import ReportFilters

    opened = shifts.open_shift(ctx, till, {"USD": "50"})
    wrong = sell(ctx, till, meter, "10")
    sell(ctx, till, meter, "20")
    reversals.reverse(ctx, boss, wrong.receipt_number, reason="wrong meter", token_declared_unused=True,
                      request_id=new_request_id(), payment_password=PAYMENT)
    shifts.close_shift(ctx, till, {("cash", "USD"): "69"})  # expected 50 + 10 + 20 - 10 = 70: 1.00 short
    report = reports.cashup(ctx, boss, ReportFilters(), by_day=False)
    mine = {(line.item, line.currency): (line.count, line.amount) for line in report.lines if line.operator == "till1"}
    assert mine[("Sales: Cash", "USD")] == (2, Decimal("30.00"))
    assert mine[("Reversals: Cash", "USD")] == (1, Decimal("-10.00"))
    assert mine[(f"Shift {opened.number} over/short (not signed off)", "USD")] == (1, Decimal("-1.00"))
