"""Vendor floats, hand-worked: each sale takes its amount less commission; a sale past the limit is refused
with the balance in the message and nothing recorded; deposits and adjustments need a reason; statements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from stron_tui.db.models import AuditEntry, VendorFloatEntry
from stron_tui.errors import NotFound, PermissionDenied, ValidationError
from stron_tui.services import vendor_floats
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.vendor_floats import FloatExhausted
from tests.cash_helpers import balance, cashier, sell, snapshot, supervisor
from tests.factories import add_meter, build_world


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


def test_prepaid_float_with_commission_hand_worked(ctx, admin, world):
    meter = add_meter(world, "4810000001")
    setup = vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD", commission_rate="0.02")
    assert (setup.balance, setup.credit_limit) == (Decimal(0), Decimal(0))
    vendor_floats.record_movement(ctx, admin, station="S1", kind="deposit", amount="25.00", reason="cash paid in")
    # A 10.00 sale earns 0.20 commission (2 %) and takes 9.80: 25.00 -> 15.20 -> 5.40.
    sell(ctx, admin, meter, "10", password="AdminPass1")
    assert balance(ctx, setup.float_id) == Decimal("15.20")
    sell(ctx, admin, meter, "10", password="AdminPass1")
    assert balance(ctx, setup.float_id) == Decimal("5.40")
    before = snapshot(ctx)
    with pytest.raises(FloatExhausted) as refused:
        sell(ctx, admin, meter, "10", password="AdminPass1")
    assert "needs 9.80 USD" in str(refused.value) and "balance is 5.40 USD" in str(refused.value)
    assert snapshot(ctx) == before  # no sale, no token, no entry, balance as it was
    # 5.00 takes 5.00 - 0.10 = 4.90: allowed, leaving 0.50.
    sell(ctx, admin, meter, "5", password="AdminPass1")
    assert balance(ctx, setup.float_id) == Decimal("0.50")
    with ctx.db.read_session() as session:
        entries = [(e.kind, e.amount, e.commission, e.balance_after)
                   for e in session.scalars(select(VendorFloatEntry).order_by(VendorFloatEntry.id))]
    assert entries == [("deposit", Decimal("25.00"), 0, Decimal("25.00")),
                       ("sale", Decimal("-9.80"), Decimal("0.20"), Decimal("15.20")),
                       ("sale", Decimal("-9.80"), Decimal("0.20"), Decimal("5.40")),
                       ("sale", Decimal("-4.90"), Decimal("0.10"), Decimal("0.50"))]


def test_credit_limit_lets_the_balance_go_negative_to_the_limit(ctx, admin, world):
    meter = add_meter(world, "4810000002")
    setup = vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD", credit_limit="15")
    sell(ctx, admin, meter, "10", password="AdminPass1")
    assert balance(ctx, setup.float_id) == Decimal("-10.00")
    with pytest.raises(FloatExhausted, match="balance is -10.00 USD with a credit limit of 15.00"):
        sell(ctx, admin, meter, "6", password="AdminPass1")
    sell(ctx, admin, meter, "5", password="AdminPass1")  # exactly to the limit
    assert balance(ctx, setup.float_id) == Decimal("-15.00")


def test_a_station_without_a_float_sells_as_before(ctx, admin, world):
    meter = add_meter(world, "4810000003")
    assert sell(ctx, admin, meter, "10", password="AdminPass1").token


@pytest.mark.parametrize("kind, amount, reason, message", [
    ("deposit", "100", "  ", "Give the reason for this deposit."),
    ("deposit", "-5", "paid in", "can't be negative"),
    ("deposit", "0", "paid in", "must be above 0"),
    ("deposit", "ten", "paid in", "must be a number"),
    ("deposit", "1.234", "paid in", "USD amounts have 2 decimal places"),
    ("adjustment", "-1", "correction", "below its credit limit"),
    ("withdrawal", "5", "why", "deposit or an adjustment"),
])
def test_bad_movements_change_nothing(ctx, admin, world, kind, amount, reason, message):
    vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD")
    before = snapshot(ctx)
    with pytest.raises(ValidationError, match=message):
        vendor_floats.record_movement(ctx, admin, station="S1", kind=kind, amount=amount, reason=reason)
    assert snapshot(ctx) == before


def test_movements_are_audited_and_need_the_permission(ctx, admin, world):
    vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD")
    till = cashier(ctx, admin, world)
    with pytest.raises(PermissionDenied):
        vendor_floats.record_movement(ctx, till, station="S1", kind="deposit", amount="5", reason="x")
    view = vendor_floats.record_movement(ctx, admin, station="S1", kind="adjustment", amount="7.5",
                                         reason="miscount found")
    assert view.balance == Decimal("7.50")
    with ctx.db.read_session() as session:
        audited = session.scalar(select(AuditEntry).where(AuditEntry.action == "float.adjustment"))
    assert "miscount found" in audited.summary and audited.user_code == "Admin"
    with pytest.raises(NotFound):
        vendor_floats.record_movement(ctx, admin, station="S9", kind="deposit", amount="5", reason="x")


def test_statement_hand_worked(ctx, admin, world):
    meter = add_meter(world, "4810000004")
    vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD", commission_rate="0.05")
    vendor_floats.record_movement(ctx, admin, station="S1", kind="deposit", amount="100", reason="opening deposit")
    sell(ctx, admin, meter, "20", password="AdminPass1")  # takes 19.00, commission 1.00
    sell(ctx, admin, meter, "10", password="AdminPass1")  # takes 9.50, commission 0.50
    today = local_date(utcnow(), ctx.settings.zone).isoformat()
    boss = supervisor(ctx, admin, world)
    statement = vendor_floats.statement(ctx, boss, station="S1", date_from=today, date_to=today)
    assert (statement.opening, statement.deposits, statement.sales, statement.reversals, statement.commission,
            statement.closing) == (0, Decimal("100"), Decimal("-28.50"), 0, Decimal("1.50"), Decimal("71.50"))
    assert [line.kind for line in statement.lines] == ["deposit", "sale", "sale"]
    with pytest.raises(ValidationError, match="before the from date"):
        vendor_floats.statement(ctx, boss, station="S1", date_from=today, date_to="2000-01-01")


def test_statement_files(ctx, admin, world):
    from python_calamine import CalamineWorkbook

    meter = add_meter(world, "4810000005")
    vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD")
    vendor_floats.record_movement(ctx, admin, station="S1", kind="deposit", amount="30", reason="paid in")
    sell(ctx, admin, meter, "10", password="AdminPass1")
    today = local_date(utcnow(), ctx.settings.zone).isoformat()
    path = vendor_floats.export_statement(ctx, admin, "xlsx", station="S1", date_from=today, date_to=today)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert "closing 20.00" in str(rows[2][0])
    assert [row[1] for row in rows if row[1] in ("deposit", "sale")] == ["deposit", "sale"]
    assert vendor_floats.export_statement(ctx, admin, "pdf", station="S1", date_from=today,
                                          date_to=today).read_bytes().startswith(b"%PDF")
