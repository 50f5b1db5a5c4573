"""Round trips of one sale: every statement a sale sends holds its meter's row lock a little longer.

Counted with SQLAlchemy's before_cursor_execute on the context's engine, for a
sale in a working day: the day's totals rows exist already (an API account's
sales spread over DAILY_SLOTS rows, so as many sales come first). The bounds are
upper bounds: a change that adds a statement to every sale fails here, and
either finds a way around it or raises the bound saying why.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from stron_tui.db.models import Customer, OutboxMessage, Vend
from stron_tui.services import api_accounts, debt, shifts, tariffs, vending, vendor_floats
from stron_tui.services.bootstrap import ADMIN_ROLE
from stron_tui.services.reports.aggregates import DAILY_SLOTS
from stron_tui.services.vending import VendRequest
from tests.cash_helpers import PAYMENT, cashier
from tests.factories import add_meter, build_world

# A flat sale: the locked read of its facts (with the seller's rights, open shift and float, and the
# customer's message consents), the account's revenue facts (after the lock: they move with every sale),
# the vend and its numbers, the meter's TID, the audit row, the account's counters, the block line, the
# meter's last sale and the day's totals. SQLite's BEGIN IMMEDIATE is not counted: it is how SQLite takes
# its write lock, not a statement the sale chose.
FLAT_SALE = 10
PAYMENT_PASSWORD_CHECK = 1  # a cashier's sale first reads (and locks) their row to check the password
DEBT_RECOVERED = 1  # the debt entry of a sale that recovers debt
FLOAT_DEBIT = 2  # the float's conditional debit and its entry


def statements_of(ctx, sale) -> list[str]:
    seen: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        seen.append(re.sub(r"\s+", " ", statement).strip())

    event.listen(ctx.db.engine, "before_cursor_execute", record)
    try:
        sale()
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", record)
    return [statement for statement in seen if statement != "BEGIN IMMEDIATE"]


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


def partner(ctx, admin, world, name="Shop"):
    key = api_accounts.create_account(ctx, admin, name=name, role=ADMIN_ROLE, station_code=world.station_code)
    return api_accounts.authenticate(ctx, key.api_key)


def request(meter, amount="10"):
    return VendRequest(meter, "amount", amount, request_id=vending.new_request_id())


def counted_sale(ctx, seller, meter, amount="10", *, password=None, earlier=DAILY_SLOTS) -> list[str]:
    """The statements of a sale made after `earlier` sales of the same kind (so the day's rows exist)."""
    for _ in range(earlier):
        vending.vend(ctx, seller, request(meter, amount), payment_password=password)
    with ctx.db.read_session() as session:
        before = session.scalar(select(func.count()).select_from(Vend))
    seen = statements_of(ctx, lambda: vending.vend(ctx, seller, request(meter, amount), payment_password=password))
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Vend)) == before + 1  # the sale was made
    return seen


def test_a_flat_sale_by_an_api_account(ctx, admin, world):
    seen = counted_sale(ctx, partner(ctx, admin, world), add_meter(world, "4300000001"))
    assert len(seen) <= FLAT_SALE, "\n".join(seen)


def test_a_cashier_sale_in_an_open_shift(shifts_on, admin, world):
    till = cashier(shifts_on, admin, world)
    shifts.open_shift(shifts_on, till, {"USD": "50"})
    seen = counted_sale(shifts_on, till, add_meter(world, "4300000002"), password=PAYMENT, earlier=1)
    assert len(seen) <= FLAT_SALE + PAYMENT_PASSWORD_CHECK, "\n".join(seen)


def test_a_sale_with_blocks_a_fixed_charge_and_debt(ctx, admin, world):
    meter = add_meter(world, "4300000003")
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "5.00", [("50", "0.10"), ("200", "0.20"), ("", "0.30")])
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "100.00", "Arrears", payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25"))
    seen = counted_sale(ctx, partner(ctx, admin, world), meter, "20")
    assert len(seen) <= FLAT_SALE + DEBT_RECOVERED, "\n".join(seen)


def test_a_sale_on_a_vendor_float(ctx, admin, world):
    seller = partner(ctx, admin, world)
    vendor_floats.set_up_float(ctx, admin, api_account="Shop", currency="USD", commission_rate="0.02")
    vendor_floats.record_movement(ctx, admin, kind="deposit", amount="1000", reason="opening", api_account="Shop")
    seen = counted_sale(ctx, seller, add_meter(world, "4300000004"))
    assert len(seen) <= FLAT_SALE + FLOAT_DEBIT, "\n".join(seen)


def test_a_message_costs_only_its_own_insert(ctx, admin, world):
    meter = add_meter(world, "4300000005")
    with ctx.db.session() as session:
        session.execute(Customer.__table__.update().values(notify_email=True, notify_auto=True))
    seen = counted_sale(ctx, partner(ctx, admin, world), meter)
    assert len(seen) <= FLAT_SALE + 1, "\n".join(seen)
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == DAILY_SLOTS + 1
