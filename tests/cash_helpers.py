"""Operators for cash-control tests: a cashier and a supervisor at the test station, logged in."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from stron_tui.db.models import AuditEntry, Reversal, Shift, ShiftCount, Vend, VendorFloat, VendorFloatEntry, User
from stron_tui.services import auth, roles, users, vending
from stron_tui.services.passwords import hash_password
from stron_tui.services.vending import VendRequest

PAYMENT = "PayWord42"
LOGIN = "LogWord42"
SUPERVISOR_PERMISSIONS = ["topup.vend", "topup.reprint", "topup.shift", "topup.reverse", "reports.view",
                          "reports.shift_sign_off", "reports.vendor_statements", "system.vendor_floats",
                          "exceptions.clear_tamper"]


def operator(ctx, admin, user_code: str, permissions, station_id: int | None, *, role: str | None = None):
    """A logged-in operator holding `permissions` (a role of its own), with the payment password PAYMENT."""
    role_name = role or f"Role {user_code}"
    if role is None:
        roles.create_role(ctx, admin, name=role_name, permissions=list(permissions))
    info = users.create_user(ctx, admin, user_code=user_code, role=role_name, station_id=station_id)
    with ctx.db.session() as session:
        user = session.get(User, info.id)
        user.password_hash = hash_password(LOGIN)
        user.payment_password_hash = hash_password(PAYMENT)
        user.must_change_password = user.must_change_payment_password = False
    return auth.authenticate(ctx, user_code, LOGIN)


def cashier(ctx, admin, world, user_code="till1"):
    return operator(ctx, admin, user_code, ["topup.vend", "topup.reprint", "topup.shift"], world.station_id)


def supervisor(ctx, admin, world, user_code="super1"):
    return operator(ctx, admin, user_code, SUPERVISOR_PERMISSIONS, world.station_id)


def sell(ctx, actor, meter, amount="10", *, payment_type="cash", currency=None, password=PAYMENT, request_id=None):
    request = VendRequest(meter, "amount", amount, currency=currency, payment_type=payment_type,
                          request_id=request_id or vending.new_request_id())
    return vending.vend(ctx, actor, request, payment_password=password)


def snapshot(ctx) -> dict:
    """Row counts and balances a refused operation must leave as they were."""
    with ctx.db.read_session() as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return {
            "vends": count(Vend), "reversals": count(Reversal), "entries": count(VendorFloatEntry),
            "shifts": count(Shift), "shift_counts": count(ShiftCount), "audit": count(AuditEntry),
            "balances": sorted((f.id, f.balance) for f in session.scalars(select(VendorFloat))),
            "reversed": sorted(v.id for v in session.scalars(select(Vend).where(Vend.reversed_at.is_not(None)))),
            "shift_states": sorted((s.id, s.status) for s in session.scalars(select(Shift))),
        }


def balance(ctx, float_id) -> Decimal:
    with ctx.db.read_session() as session:
        return session.get(VendorFloat, float_id).balance
