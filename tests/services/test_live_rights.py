"""Rights are checked live: an open session (an Actor held since login) loses its rights the moment the
database says so, at every door that moves money or unlocks a session, and nothing is recorded.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from stron_tui.db.models import AuditEntry, ManagementToken, ReceiptPrint, Role, RolePermission, User, Vend
from stron_tui.errors import PermissionDenied
from stron_tui.services import api_accounts, auth, management, receipts, roles, users, vending
from stron_tui.services.management import ManagementRequest
from stron_tui.services.passwords import hash_password
from stron_tui.services.vending import VendRequest
from tests.factories import add_meter, build_world

PAYMENT = "PayWord42"


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


@pytest.fixture
def cashier(ctx, admin, world):
    """A cashier at the test station, logged in (its Actor held from here on), with a payment password."""
    roles.create_role(ctx, admin, name="Till", permissions=["topup.vend", "topup.reprint",
                                                           "exceptions.clear_tamper"])
    info = users.create_user(ctx, admin, user_code="cashier", role="Till", station_id=world.station_id)
    with ctx.db.session() as session:
        user = session.get(User, info.id)
        user.password_hash = hash_password("CashWord42")
        user.payment_password_hash = hash_password(PAYMENT)
        user.must_change_password = user.must_change_payment_password = False
    return auth.authenticate(ctx, "cashier", "CashWord42")


def request(meter, value="10.00"):
    return VendRequest(meter_number=meter, mode="amount", value=value, currency=None, payment_type="cash",
                       request_id=vending.new_request_id())


def counts(ctx) -> dict:
    with ctx.db.read_session() as session:
        return {
            "vends": session.scalar(select(func.count()).select_from(Vend)),
            "tokens": session.scalar(select(func.count()).select_from(ManagementToken)),
            "reprints": session.scalar(select(func.count()).select_from(ReceiptPrint)),
            "audited": session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action.in_(["vend", "receipt.reprint", "token.clear_tamper"]))),
        }


def take_permission(ctx, role_name, permission):
    with ctx.db.session() as session:
        role_id = session.scalar(select(Role.id).where(Role.name == role_name))
        session.execute(delete(RolePermission).where(RolePermission.role_id == role_id,
                                                     RolePermission.permission == permission))


def test_a_disabled_cashier_sells_nothing_more_in_its_open_session(ctx, admin, world, cashier):
    meter = add_meter(world, "4100000001")
    vending.vend(ctx, cashier, request(meter), payment_password=PAYMENT)
    before = counts(ctx)
    users.set_enabled(ctx, admin, cashier.user_id, False)
    with pytest.raises(PermissionDenied, match="cashier is disabled; nothing was done"):
        vending.vend(ctx, cashier, request(meter), payment_password=PAYMENT)
    with pytest.raises(PermissionDenied, match="cashier is disabled"):
        vending.preview(ctx, cashier, request(meter))
    with pytest.raises(PermissionDenied, match="cashier is disabled"):
        management.issue(ctx, cashier, ManagementRequest(meter, "clear_tamper", vending.new_request_id(),
                                                         "opened"), payment_password=PAYMENT)
    assert counts(ctx) == before


def test_a_role_that_lost_a_permission_stops_that_door_at_once(ctx, admin, world, cashier):
    meter = add_meter(world, "4100000002")
    sold = vending.vend(ctx, cashier, request(meter), payment_password=PAYMENT)
    before = counts(ctx)
    take_permission(ctx, "Till", "topup.vend")
    with pytest.raises(PermissionDenied, match="cashier may no longer sell credit; nothing was done"):
        vending.vend(ctx, cashier, request(meter), payment_password=PAYMENT)
    with pytest.raises(PermissionDenied, match="may no longer sell credit"):
        vending.preview(ctx, cashier, request(meter))
    take_permission(ctx, "Till", "topup.reprint")
    with pytest.raises(PermissionDenied, match="cashier may no longer reprint receipts"):
        receipts.reprint_receipt(ctx, cashier, sold.receipt_number)
    take_permission(ctx, "Till", "exceptions.clear_tamper")
    with pytest.raises(PermissionDenied, match="cashier may no longer issue clear tamper tokens"):
        management.issue(ctx, cashier, ManagementRequest(meter, "clear_tamper", vending.new_request_id(),
                                                         "opened"), payment_password=PAYMENT)
    assert counts(ctx) == before


def test_a_retried_sale_by_a_user_disabled_since_gets_no_receipt_back(ctx, admin, world, cashier):
    meter = add_meter(world, "4100000003")
    first = request(meter)
    vending.vend(ctx, cashier, first, payment_password=PAYMENT)
    users.set_enabled(ctx, admin, cashier.user_id, False)
    with pytest.raises(PermissionDenied, match="disabled"):
        vending.vend(ctx, cashier, first, payment_password=PAYMENT)


def test_a_disabled_user_cannot_unlock_the_idle_lock(ctx, admin, cashier):
    auth.verify_own_password(ctx, cashier, "CashWord42")  # the right password unlocks while enabled
    users.set_enabled(ctx, admin, cashier.user_id, False)
    with pytest.raises(PermissionDenied, match="cashier is disabled"):
        auth.verify_own_password(ctx, cashier, "CashWord42")


def test_a_locked_user_sells_nothing_in_its_open_session(ctx, admin, world, cashier):
    meter = add_meter(world, "4100000004")
    for _ in range(ctx.settings.lockout_attempts):  # wrong payment passwords inside the session lock the user
        with pytest.raises(Exception):
            auth.verify_own_password(ctx, cashier, "not it", kind="payment")
    before = counts(ctx)
    with pytest.raises(Exception, match="locked"):
        vending.vend(ctx, cashier, request(meter), payment_password=PAYMENT)
    with pytest.raises(PermissionDenied, match="cashier is locked"):
        vending.preview(ctx, cashier, request(meter))
    assert counts(ctx) == before


def test_an_api_account_disabled_or_reduced_after_its_key_check_sells_nothing(ctx, admin, world):
    meter = add_meter(world, "4100000005")
    roles.create_role(ctx, admin, name="Partner", permissions=["topup.vend", "topup.reprint"])
    issued = api_accounts.create_account(ctx, admin, name="Mobile Money", role="Partner",
                                         station_code=world.station_code)
    partner = api_accounts.authenticate(ctx, issued.api_key)
    vending.vend(ctx, partner, request(meter))
    before = counts(ctx)
    take_permission(ctx, "Partner", "topup.vend")
    with pytest.raises(PermissionDenied, match="API account Mobile Money may no longer sell credit"):
        vending.vend(ctx, partner, request(meter))
    api_accounts.set_enabled(ctx, admin, issued.account.id, False)
    with pytest.raises(PermissionDenied, match="API account Mobile Money is disabled"):
        vending.vend(ctx, partner, request(meter))
    assert counts(ctx) == before


def test_the_live_check_compiles_for_sql_server():
    from sqlalchemy.dialects import mssql

    from stron_tui.services import live_rights

    dialect = mssql.dialect(deprecate_large_types=True)
    dialect.server_version_info = (16, 0)
    dialect._supports_offset_fetch = True
    for statement in (live_rights._LIVE, *vending._SALE_FACTS.values()):
        sql = str(statement.compile(dialect=dialect))
        assert "holder_permitted" in sql and "CASE WHEN" in sql
        assert " IS 1" not in sql and "SELECT EXISTS" not in sql  # T-SQL has neither
