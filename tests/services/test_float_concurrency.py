"""8 concurrent sellers against one vendor float never take it below its limit (PostgreSQL with
STRON_TEST_PG_URL; SQLite too). Every sale that went through is in the float; every refusal left nothing."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import func, select

from stron_tui.db.models import Vend, VendorFloatEntry
from stron_tui.services import vendor_floats
from stron_tui.services.vendor_floats import FloatExhausted
from tests.cash_helpers import balance, sell
from tests.factories import add_meter, build_world

WORKERS = 8
ATTEMPTS = 4


def test_eight_sellers_against_one_float_never_pass_its_limit(ctx, admin):
    world = build_world(ctx)
    meters = [add_meter(world, f"48300000{n:02d}") for n in range(WORKERS)]
    setup = vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD", credit_limit="5")
    # 95.00 paid in + 5.00 credit = 100.00: room for exactly ten 10.00 sales out of 32 attempts.
    vendor_floats.record_movement(ctx, admin, station="S1", kind="deposit", amount="95", reason="paid in")
    sold, refused, failed = [], [], []
    start = threading.Barrier(WORKERS)

    def seller(meter):
        start.wait()
        for _ in range(ATTEMPTS):
            try:
                sold.append(sell(ctx, admin, meter, "10", password="AdminPass1").receipt_number)
            except FloatExhausted as error:
                refused.append(str(error))
            except Exception as error:  # noqa: BLE001 - reported below
                failed.append(repr(error))

    threads = [threading.Thread(target=seller, args=(meter,)) for meter in meters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failed == []
    assert len(sold) == 10 and len(refused) == WORKERS * ATTEMPTS - 10
    assert balance(ctx, setup.float_id) == Decimal("-5.00")
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Vend)) == 10
        assert session.scalar(select(func.sum(Vend.gross_amount))) == Decimal("100.00")
        after = list(session.scalars(select(VendorFloatEntry.balance_after).where(VendorFloatEntry.kind == "sale")))
    assert len(after) == 10 and min(after) == Decimal("-5.00")
    assert sorted(after, reverse=True) == [Decimal(85 - 10 * n) for n in range(10)]
