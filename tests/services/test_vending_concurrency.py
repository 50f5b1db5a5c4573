"""Concurrent sales to one meter from two processes get distinct, increasing TIDs."""

from __future__ import annotations

import multiprocessing
from decimal import Decimal

from sqlalchemy import select

from stron_tui.db.models import Meter, User, Vend
from tests.factories import add_meter, build_world

SALES_PER_PROCESS = 25


def _sell_many(database_url: str, settings, meter: str, worker: int, results) -> None:
    from stron_tui.db.engine import Database
    from stron_tui.services import auth, vending
    from stron_tui.services.context import AppContext

    db = Database(database_url)
    ctx = AppContext(settings=settings, db=db)
    ctx.vault  # noqa: B018 - opened up front, as open_context does
    with db.session() as session:
        admin = auth.actor_for(session, session.scalar(select(User).where(User.builtin_admin.is_(True))), "tui")
    receipts = []
    for number in range(SALES_PER_PROCESS):
        request = vending.VendRequest(meter, "amount", "2", request_id=f"worker{worker}-sale{number:03d}")
        receipts.append(vending.vend(ctx, admin, request, payment_password="AdminPass1").token)
    db.dispose()
    results.put((worker, receipts))


def test_two_processes_selling_to_one_meter(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000001")
    url = ctx.db.url.render_as_string(hide_password=False)
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    workers = [spawn.Process(target=_sell_many, args=(url, ctx.settings, meter, n, results)) for n in range(2)]
    for process in workers:
        process.start()
    collected = dict(results.get(timeout=180) for _ in workers)
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert sum(len(tokens) for tokens in collected.values()) == 2 * SALES_PER_PROCESS

    with ctx.db.read_session() as session:
        vends = list(session.scalars(select(Vend).where(Vend.meter_number == meter).order_by(Vend.tid)))
        last_tid = session.scalar(select(Meter.last_tid).where(Meter.meter_number == meter))
    tids = [vend.tid for vend in vends]
    assert len(tids) == 50 and len(set(tids)) == 50
    assert last_tid == max(tids)
    assert all(tid % 1440 != 1 for tid in tids)  # never the reserved minute 00:01
    # Each process saw its own sales in increasing TID order...
    by_token = {vend.token: vend.tid for vend in vends}
    for tokens in collected.values():
        own = [by_token[token] for token in tokens]
        assert own == sorted(own)
    # ...and the meter accepts all fifty, entered in TID order.
    keypad = world.meter_simulator(meter)
    for vend in vends:
        result = keypad.enter(vend.token)
        assert result.accepted, (vend.tid, result.message)
    assert keypad.credit[0] == Decimal("10.0") * 50
