"""Reversals: their own record and number, the sale marked reversed (a reprint says so), the float given
back, never twice, a retried request returns the first; every refusal changes nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from stron_tui.db.models import AuditEntry, Reversal, Vend
from stron_tui.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, StronError, ValidationError
from stron_tui.services import management, receipts, reversals, vendor_floats
from stron_tui.services.management import ManagementRequest
from stron_tui.services.vending import new_request_id
from tests.cash_helpers import PAYMENT, balance, cashier, operator, sell, snapshot, supervisor
from tests.factories import add_meter, build_world


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


@pytest.fixture
def meter(world):
    return add_meter(world, "4820000001")


@pytest.fixture
def boss(ctx, admin, world):
    return supervisor(ctx, admin, world)


def reverse(ctx, actor, number, *, request_id=None, reason="wrong meter", unused=True, password=PAYMENT):
    return reversals.reverse(ctx, actor, number, reason=reason, token_declared_unused=unused,
                             request_id=request_id or new_request_id(), payment_password=password)


def test_reversal_is_its_own_record_and_gives_the_float_back(ctx, admin, world, meter, boss):
    setup = vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD", commission_rate="0.02")
    vendor_floats.record_movement(ctx, admin, station="S1", kind="deposit", amount="50", reason="paid in")
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    assert balance(ctx, setup.float_id) == Decimal("40.20")
    done = reverse(ctx, boss, sale.receipt_number.lower(), reason="sold to the wrong meter", unused=True)
    assert done.reversal_number.startswith("R") and done.receipt_number == sale.receipt_number
    assert (done.paid_amount, done.token_declared_unused) == (Decimal("10.00"), True)
    assert balance(ctx, setup.float_id) == Decimal("50.00")  # 9.80 given back
    with ctx.db.read_session() as session:
        vend = session.scalar(select(Vend).where(Vend.receipt_number == sale.receipt_number))
        assert vend.reversed_at is not None and vend.token == sale.token  # the sale stays, marked
        audited = session.scalar(select(AuditEntry).where(AuditEntry.action == "vend.reverse"))
        assert done.reversal_number in audited.summary and audited.user_code == "super1"
    reprint = receipts.reprint_receipt(ctx, boss, sale.receipt_number)
    assert reprint.reversed_by == done.reversal_number
    statement = vendor_floats.statement(ctx, boss, station="S1", date_from=str(done.business_date),
                                        date_to=str(done.business_date))
    assert (statement.sales, statement.reversals, statement.commission, statement.closing) == (
        Decimal("-9.80"), Decimal("9.80"), Decimal("0"), Decimal("50.00"))


def test_a_sale_is_reversed_once_and_a_retry_returns_the_first(ctx, admin, world, meter, boss):
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    first = reverse(ctx, boss, sale.receipt_number, request_id="rev-0000001")
    again = reverse(ctx, boss, sale.receipt_number, request_id="rev-0000001")
    assert again == first
    before = snapshot(ctx)
    with pytest.raises(Conflict, match="already reversed"):
        reverse(ctx, boss, sale.transaction_number, request_id="rev-0000002")
    with pytest.raises(Conflict, match="already used to reverse sale"):
        other = sell(ctx, admin, meter, "5", password="AdminPass1")
        before = snapshot(ctx)
        reverse(ctx, boss, other.receipt_number, request_id="rev-0000001")
    assert snapshot(ctx) == before


def test_refusals_change_nothing(ctx, admin, world, meter, boss):
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    token = management.issue(ctx, admin, ManagementRequest(meter_number=meter, kind="clear_tamper",
                                                           reason="seal", request_id=new_request_id()),
                             payment_password="AdminPass1")
    till = cashier(ctx, admin, world)
    before = snapshot(ctx)
    with pytest.raises(ValidationError, match="Give the reason"):
        reverse(ctx, boss, sale.receipt_number, reason="   ")
    with pytest.raises(ValidationError, match="management token, not a sale"):
        reverse(ctx, boss, token.receipt_number)
    with pytest.raises(NotFound):
        reverse(ctx, boss, "S1-99999999")
    with pytest.raises(PermissionDenied):
        reverse(ctx, till, sale.receipt_number)
    with pytest.raises((AuthenticationFailed, ValidationError)):
        reverse(ctx, boss, sale.receipt_number, password="wrong-one")
    with pytest.raises(ValidationError, match="request id"):
        reverse(ctx, boss, sale.receipt_number, request_id="x")
    assert {k: v for k, v in snapshot(ctx).items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"}  # (a wrong password is audited as a failure)


def test_outside_the_window_or_station_is_refused(ctx, admin, world, meter, boss):
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    elsewhere = operator(ctx, admin, "super2", ["topup.reverse", "reports.all_stations"], None)
    before = snapshot(ctx)
    with pytest.raises(ValidationError, match="at another sales station"):
        reverse(ctx, elsewhere, sale.receipt_number)
    with ctx.db.session() as session:  # the sale was yesterday
        sold_on = session.scalar(select(Vend.business_date))
        session.execute(update(Vend).values(business_date=sold_on - timedelta(days=1)))
    with pytest.raises(ValidationError, match="can no longer be reversed: sales are reversed on the day"):
        reverse(ctx, boss, sale.receipt_number)
    assert snapshot(ctx) == before
    widened = ctx.settings.with_overrides(reversal_window_days=1, reversal_any_station=True)
    from stron_tui.services.context import AppContext

    wide = AppContext(settings=widened, db=ctx.db)
    assert reverse(wide, elsewhere, sale.receipt_number).receipt_number == sale.receipt_number


def test_two_reversals_racing_leave_exactly_one(ctx, admin, world, meter, boss):
    other_boss = supervisor(ctx, admin, world, user_code="super3")
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    outcomes = []
    start = threading.Barrier(4)

    def race(actor, request_id):
        start.wait()
        try:
            outcomes.append(("ok", reverse(ctx, actor, sale.receipt_number, request_id=request_id).reversal_number))
        except StronError as error:
            outcomes.append(("refused", str(error)))

    threads = [threading.Thread(target=race, args=args) for args in (
        (boss, "race-00000001"), (other_boss, "race-00000002"), (boss, "race-00000001"), (other_boss, "race-3333333"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with ctx.db.read_session() as session:
        recorded = list(session.scalars(select(Reversal)))
    assert len(recorded) == 1
    winners = {number for kind, number in outcomes if kind == "ok"}
    assert winners == {recorded[0].reversal_number}
    assert all("already reversed" in text for kind, text in outcomes if kind == "refused")


def test_a_reversal_racing_reprints_leaves_one_reversal_and_every_reprint(ctx, admin, world, meter, boss):
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    start = threading.Barrier(4)
    reprinted, reversed_, failed = [], [], []

    def reprint():
        start.wait()
        try:
            reprinted.append(receipts.reprint_receipt(ctx, boss, sale.receipt_number).reversed_by)
        except Exception as error:  # noqa: BLE001 - reported below
            failed.append(repr(error))

    def reverse_it():
        start.wait()
        try:
            reversed_.append(reverse(ctx, boss, sale.receipt_number).reversal_number)
        except Exception as error:  # noqa: BLE001 - reported below
            failed.append(repr(error))

    threads = [threading.Thread(target=reverse_it)] + [threading.Thread(target=reprint) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failed == []
    with ctx.db.read_session() as session:
        assert [r.reversal_number for r in session.scalars(select(Reversal))] == reversed_
    # Each reprint shows the sale as it was when it read it: not yet reversed, or reversed by that one reversal.
    assert len(reprinted) == 3 and set(reprinted) <= {"", None, reversed_[0]}
    assert receipts.reprint_receipt(ctx, boss, sale.receipt_number).reversed_by == reversed_[0]
