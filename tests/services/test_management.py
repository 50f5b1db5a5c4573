"""Management tokens: the meter simulator accepts what we issue, key changes come first, records and rights."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from stron_tui.db.models import AuditEntry, ManagementToken, Meter, User
from stron_tui.errors import PermissionDenied, StronError, ValidationError
from stron_tui.services import auth, management, users
from stron_tui.services.management import ManagementRequest
from stron_tui.services.vending import new_request_id
from tests.factories import add_meter, build_world


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


def issue(ctx, actor, meter, kind, *, reason="meter opened for inspection", register=None, watts=None,
          request_id=None, payment_password="AdminPass1"):
    return management.issue(ctx, actor, ManagementRequest(meter, kind, request_id or new_request_id(), reason,
                                                          register, watts), payment_password=payment_password)


def set_meter_type(ctx, meter, meter_type):
    with ctx.db.session() as session:
        session.scalar(select(Meter).where(Meter.meter_number == meter)).meter_type = meter_type


def token_rows(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count(ManagementToken.id)))


def test_clear_tamper_is_accepted_and_clears_the_flag(ctx, admin, world):
    meter = add_meter(world, "4300000001")
    keypad = world.meter_simulator(meter)
    keypad.set_tamper(True)
    receipt = issue(ctx, admin, meter, "clear_tamper")
    assert receipt.title == "CLEAR TAMPER" and receipt.key_change_tokens == ()
    assert receipt.customer_code == "C4300000001" and receipt.reason == "meter opened for inspection"
    result = keypad.enter(receipt.token)
    assert result.accepted, result.message
    assert keypad.tamper is False
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "token.clear_tamper")) == 1


def test_clear_credit_all_registers_and_one_register(ctx, admin, world):
    meter = add_meter(world, "4300000002")
    keypad = world.meter_simulator(meter)
    keypad.credit[0] = Decimal("50.0")
    keypad.credit[1] = Decimal("7.0")
    one = issue(ctx, admin, meter, "clear_credit", register=1, reason="water register wrong")
    assert one.detail == "Credit register 1"
    assert keypad.enter(one.token).accepted
    assert keypad.credit[1] == 0 and keypad.credit[0] == Decimal("50.0")
    every = issue(ctx, admin, meter, "clear_credit", reason="meter moved to a new customer")
    assert every.detail == "All credit registers"
    assert keypad.enter(every.token).accepted
    assert all(value == 0 for value in keypad.credit.values())


def test_power_limit_and_phase_unbalance_carry_the_watts(ctx, admin, world):
    meter = add_meter(world, "4300000003")
    set_meter_type(ctx, meter, "three-phase-integrated")
    keypad = world.meter_simulator(meter)
    limit = issue(ctx, admin, meter, "set_power_limit", watts=5000, reason="")
    assert keypad.enter(limit.token).accepted and keypad.power_limit == 5000
    unbalance = issue(ctx, admin, meter, "set_phase_unbalance", watts=1200, reason="")
    assert keypad.enter(unbalance.token).accepted and keypad.phase_unbalance_limit == 1200
    assert "1200 W" in unbalance.detail


def test_key_change_on_demand_gives_two_tokens_the_meter_accepts(ctx, admin, world):
    meter = add_meter(world, "4300000004")
    with ctx.db.session() as session:
        session.scalar(select(Meter).where(Meter.meter_number == meter)).ti = 3
    receipt = issue(ctx, admin, meter, "key_change", reason="tariff index moved")
    assert receipt.token == "" and len(receipt.key_change_tokens) == 2
    keypad = world.meter_simulator(meter)
    new_key_data = world.key_data[meter].replace(ti=3)
    results = [keypad.enter(token, new_key_data=new_key_data) for token in receipt.key_change_tokens]
    assert all(result.accepted for result in results) and results[-1].key_changed
    assert keypad.key_data.ti == 3


def test_pending_key_change_comes_before_the_clear_tamper_token(ctx, admin, world):
    meter = add_meter(world, "4300000005")
    assert management.find_meter(ctx, admin, meter).key_change_pending is False
    with ctx.db.session() as session:
        session.scalar(select(Meter).where(Meter.meter_number == meter)).ti = 2
    facts = management.find_meter(ctx, admin, meter)
    assert facts.key_change_pending and "TI 2" in facts.key_data and facts.account_number == "A4300000005"
    receipt = issue(ctx, admin, meter, "clear_tamper")
    assert len(receipt.key_change_tokens) == 2 and receipt.token
    keypad = world.meter_simulator(meter)
    keypad.set_tamper(True)
    new_key_data = world.key_data[meter].replace(ti=2)
    assert keypad.enter(receipt.token).accepted is False  # the old key cannot read it
    for token in receipt.key_change_tokens:
        assert keypad.enter(token, new_key_data=new_key_data).accepted
    result = keypad.enter(receipt.token)
    assert result.accepted, result.message
    assert keypad.tamper is False
    # The meter holds the new key now: the next token needs no key change.
    assert issue(ctx, admin, meter, "clear_tamper").key_change_tokens == ()


def test_a_retry_with_the_same_request_id_returns_the_same_receipt(ctx, admin, world):
    meter = add_meter(world, "4300000006")
    request_id = new_request_id()
    first = issue(ctx, admin, meter, "clear_tamper", request_id=request_id)
    again = issue(ctx, admin, meter, "clear_tamper", request_id=request_id)
    assert again == first
    assert token_rows(ctx) == 1


def test_reason_is_required_for_clear_tamper_and_clear_credit(ctx, admin, world):
    meter = add_meter(world, "4300000007")
    for kind in ("clear_tamper", "clear_credit"):
        with pytest.raises(ValidationError) as raised:
            issue(ctx, admin, meter, kind, reason="   ")
        assert raised.value.field == "reason"
    with pytest.raises(ValidationError) as raised:
        issue(ctx, admin, meter, "set_power_limit", watts=0, reason="")
    assert raised.value.field == "watts"
    assert token_rows(ctx) == 0


def test_an_only_vending_operator_is_refused(ctx, admin, world):
    meter = add_meter(world, "4300000008")
    users.create_user(ctx, admin, user_code="cashier9", name="Cashier", role="OnlyVending",
                      station_code=world.station_code)
    with ctx.db.read_session() as session:
        cashier = auth.actor_for(session, session.scalar(select(User).where(User.user_code == "cashier9")), "tui")
    with pytest.raises(PermissionDenied):
        issue(ctx, cashier, meter, "clear_tamper")
    with pytest.raises(PermissionDenied):
        management.find_meter(ctx, cashier, meter)
    with pytest.raises(PermissionDenied):
        management.records(ctx, cashier, "clear_tamper")
    assert token_rows(ctx) == 0


def test_records_find_exactly_the_rows(ctx, admin, world):
    first = add_meter(world, "4300000011")
    second = add_meter(world, "4300000022")
    tamper = [issue(ctx, admin, meter, "clear_tamper", reason=f"case {meter}") for meter in (first, second, first)]
    issue(ctx, admin, second, "clear_credit", reason="new tenant")
    page = management.records(ctx, admin, "clear_tamper")
    assert [row.receipt_number for row in page.rows] == [r.receipt_number for r in reversed(tamper)]
    assert (page.rows[0].customer_code, page.rows[0].operator, page.rows[0].token) == (
        "C4300000011", "Admin", tamper[2].token)
    assert [row.meter_number for row in management.records(ctx, admin, "clear_tamper", first[:10]).rows] == [
        first, first]
    assert [row.reason for row in management.records(ctx, admin, "clear_tamper", "c43000000").rows] == [
        f"case {first}", f"case {second}", f"case {first}"]
    assert [row.reason for row in management.records(ctx, admin, "clear_credit").rows] == ["new tenant"]
    assert management.records(ctx, admin, "clear_credit", first).rows == []
    # Keyset pages: two by two, forwards then back again.
    one = management.records(ctx, admin, "clear_tamper", limit=2)
    two = management.records(ctx, admin, "clear_tamper", after=one.last_key, limit=2)
    assert one.more and not two.more and len(two.rows) == 1
    back = management.records(ctx, admin, "clear_tamper", after=two.first_key, backwards=True, limit=2)
    assert [row.id for row in back.rows] == [row.id for row in one.rows]
    receipt = management.record_receipt(ctx, admin, tamper[0].receipt_number)
    assert receipt.token == tamper[0].token


def test_records_export_to_excel_is_audited(ctx, admin, world):
    from python_calamine import CalamineWorkbook

    meter = add_meter(world, "4300000044")
    issue(ctx, admin, meter, "clear_tamper", reason="seal broken")
    result = management.export_records(ctx, admin, "clear_tamper", meter[:8])
    assert result.rows == 1 and result.path.exists()
    sheet = CalamineWorkbook.from_path(str(result.path)).get_sheet_by_index(0).to_python()
    assert ["C4300000044", meter] == sheet[-1][:2] and "seal broken" in sheet[-1]
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "report.export")) == 1


def test_management_tokens_are_confirmed_with_the_payment_password(ctx, admin, world):
    meter = add_meter(world, "4300000021")
    for wrong in ("", "not-it"):
        with pytest.raises(StronError, match="payment password"):
            issue(ctx, admin, meter, "clear_tamper", payment_password=wrong)
    assert token_rows(ctx) == 0
    assert issue(ctx, admin, meter, "clear_tamper").token


def test_tokens_are_refused_for_meters_whose_type_cannot_take_them(ctx, admin, world):
    single = add_meter(world, "4300000022")  # single-phase electricity
    water = add_meter(world, "4300000023", tariff="water")
    set_meter_type(ctx, water, "water")
    with pytest.raises(ValidationError, match="three-phase electricity meters only"):
        issue(ctx, admin, single, "set_phase_unbalance", watts=1200, reason="")
    with pytest.raises(ValidationError, match="power limits are for electricity meters"):
        issue(ctx, admin, water, "set_power_limit", watts=1200, reason="")
    assert token_rows(ctx) == 0
    assert management.unsupported_reason("set_phase_unbalance", "1", "three-phase-split", "electricity") is None
    assert issue(ctx, admin, water, "clear_tamper").token  # every meter takes a clear tamper token
