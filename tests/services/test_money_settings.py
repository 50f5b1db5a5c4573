"""Currencies, exchange rates with an effective time, and payment types."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from stron_tui.db.models import AuditEntry
from stron_tui.errors import Conflict, PermissionDenied, ValidationError
from stron_tui.services import auth, money_settings as money, users
from stron_tui.domain.clock import utcnow


def actions(ctx):
    with ctx.db.read_session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_add_and_change_a_currency(ctx, admin):
    added = money.save_currency(ctx, admin, code=" tzs ", name="Tanzanian shilling", symbol="TSh", minor_unit="2")
    assert added.code == "TZS"
    money.save_currency(ctx, admin, code="TZS", name="Tanzanian shilling", symbol="TSh", minor_unit=0)
    listed = {c.code: c for c in money.list_currencies(ctx, admin)}
    assert listed["TZS"].minor_unit == 0 and listed["KWD"].minor_unit == 3
    assert actions(ctx)[-2:] == ["currency.create", "currency.update"]
    with pytest.raises(ValidationError, match="three letters"):
        money.save_currency(ctx, admin, code="US", name="x")
    with pytest.raises(ValidationError, match="0 to 4"):
        money.save_currency(ctx, admin, code="ABC", name="x", minor_unit=5)
    with pytest.raises(Conflict, match="own currency"):
        money.save_currency(ctx, admin, code="USD", name="US dollar", active=False)


def test_rates_take_effect_now_or_later_and_the_latest_in_effect_is_marked(ctx, admin):
    old = money.add_rate(ctx, admin, from_currency="ngn", to_currency="usd", rate="0.00065")
    current = money.add_rate(ctx, admin, from_currency="NGN", to_currency="USD", rate="0.000651")
    later = money.add_rate(ctx, admin, from_currency="NGN", to_currency="USD", rate="0.0007",
                           effective_at=utcnow() + timedelta(days=1))
    assert current.rate == Decimal("0.000651") and current.entered_by == "Admin"
    rows = money.list_rates(ctx, admin, currency="ngn").rows
    assert [r.id for r in rows] == [later.id, current.id, old.id]  # newest effective time first
    assert [(r.in_effect, r.pending) for r in rows] == [(False, True), (True, False), (False, False)]
    with pytest.raises(ValidationError, match="now or later") as error:
        money.add_rate(ctx, admin, from_currency="NGN", to_currency="USD", rate="1",
                       effective_at=utcnow() - timedelta(hours=1))
    assert error.value.field == "effective_at"
    for bad, message in (("0", "more than zero"), ("abc", "as a number"), ("1.1234567", "6 decimal places")):
        with pytest.raises(ValidationError, match=message):
            money.add_rate(ctx, admin, from_currency="NGN", to_currency="USD", rate=bad)
    with pytest.raises(ValidationError, match="two different"):
        money.add_rate(ctx, admin, from_currency="USD", to_currency="usd", rate="1")
    money.withdraw_rate(ctx, admin, later.id)
    with pytest.raises(Conflict, match="already in effect"):
        money.withdraw_rate(ctx, admin, current.id)
    assert [r.id for r in money.list_rates(ctx, admin).rows] == [current.id, old.id]
    assert actions(ctx).count("exchange_rate.create") == 3 and "exchange_rate.withdraw" in actions(ctx)


def test_effective_time_is_typed_in_local_time(ctx, admin):
    when = money.parse_local_time(ctx, "2030-01-31 08:00")
    assert when.utcoffset() == timedelta(hours=1)  # Africa/Lagos
    assert money.parse_local_time(ctx, " ") is None
    with pytest.raises(ValidationError, match="YYYY-MM-DD HH:MM"):
        money.parse_local_time(ctx, "31/01/2030")


def test_payment_types_add_change_and_one_stays_active(ctx, admin):
    money.save_payment_type(ctx, admin, code="Voucher", name="Prepaid voucher", sort_order=9)
    codes = [p.code for p in money.list_payment_types(ctx, admin)]
    assert codes[-1] == "voucher" and codes[0] == "cash"
    for p in money.list_payment_types(ctx, admin)[:-1]:
        money.save_payment_type(ctx, admin, code=p.code, name=p.name, sort_order=p.sort_order, active=False)
    with pytest.raises(Conflict, match="At least one payment type"):
        money.save_payment_type(ctx, admin, code="voucher", name="Prepaid voucher", sort_order=9, active=False)
    assert [p.code for p in money.list_payment_types(ctx, admin) if p.active] == ["voucher"]
    with pytest.raises(ValidationError, match="payment type code"):
        money.save_payment_type(ctx, admin, code="bad code!", name="x")
    assert "payment_type.create" in actions(ctx) and "payment_type.update" in actions(ctx)


def test_settings_need_the_right(ctx, admin):
    users.create_user(ctx, admin, user_code="cashier", role="OnlyVending")
    cashier = auth.authenticate(ctx, "cashier", "123456")
    with pytest.raises(PermissionDenied, match="may not manage currencies"):
        money.add_rate(ctx, cashier, from_currency="NGN", to_currency="USD", rate="1")
    with pytest.raises(PermissionDenied):
        money.save_payment_type(ctx, cashier, code="free", name="Free")
