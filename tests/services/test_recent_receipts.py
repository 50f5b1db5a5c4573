"""The operator's last receipts: own sales at the station worked at now, newest first, by a part of the number."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from stron_tui.db.models import SalesStation, User
from stron_tui.errors import PermissionDenied
from stron_tui.services import auth, receipts, users, vending
from stron_tui.domain.clock import utcnow
from stron_tui.services.vending import VendRequest
from tests.factories import add_meter, build_world


def _sell(ctx, actor, meter, amount="10"):
    request = VendRequest(meter, "amount", amount, request_id=vending.new_request_id())
    return vending.vend(ctx, actor, request, payment_password="Till-pay-3")


def test_recent_receipts_are_the_operators_own_at_this_station(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4600000001")
    users.create_user(ctx, admin, user_code="till3", role="OnlyVending", station_id=world.station_id)
    first = auth.authenticate(ctx, "till3", "123456")
    auth.replace_temporary_passwords(ctx, first, "123456", new_login="Till-login-3", new_payment="Till-pay-3")
    till = auth.authenticate(ctx, "till3", "Till-login-3")
    at_home = [_sell(ctx, till, meter).receipt_number for _ in range(2)]
    admin_sale = vending.vend(ctx, admin, VendRequest(meter, "amount", "5", request_id=vending.new_request_id()),
                              payment_password="AdminPass1").receipt_number
    with ctx.db.session() as session:  # the cashier moves to another station and sells there
        now = utcnow()
        other = SalesStation(code="S9", code_key="s9", name="Other", name_key="other",
                             district_id=world.district_id, receipt_width=40, created_at=now, updated_at=now)
        session.add(other)
        session.flush()
        session.scalar(select(User).where(User.user_code == "till3")).station_id = other.id
    moved = auth.authenticate(ctx, "till3", "Till-login-3")
    away = _sell(ctx, moved, meter).receipt_number

    assert [r.receipt_number for r in receipts.recent_receipts(ctx, till)] == at_home[::-1]
    assert [r.receipt_number for r in receipts.recent_receipts(ctx, moved)] == [away]
    assert [r.receipt_number for r in receipts.recent_receipts(ctx, till, number=at_home[0][-3:].lower())] == [
        at_home[0]]
    assert receipts.recent_receipts(ctx, till, number="%") == []
    # The reprint list counts what it cuts: "1 of 2", and no more than asked to count.
    assert receipts.count_recent_receipts(ctx, till) == 2
    assert receipts.count_recent_receipts(ctx, till, up_to=1) == 2  # more than 1
    assert receipts.count_recent_receipts(ctx, till, number=at_home[0][-3:].lower()) == 1
    assert receipts.count_recent_receipts(ctx, moved) == 1
    assert admin_sale not in [r.receipt_number for r in receipts.recent_receipts(ctx, till, limit=10)]
    with pytest.raises(PermissionDenied):  # an operator without the reprint right sees none
        receipts.recent_receipts(ctx, replace(till, permissions=frozenset()))
