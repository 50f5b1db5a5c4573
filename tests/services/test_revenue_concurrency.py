"""Two processes selling to one account at once on a block tariff with a fixed charge and debt recovery.

The month's units, the charge due and the debt balance are read and moved under the meter's row lock:
no two sales both get the cheap block, both skip (or both pay) the charge, or both recover the same debt.
"""

from __future__ import annotations

import multiprocessing
from decimal import Decimal as D

from sqlalchemy import func, select

from stron_tui.db.models import Account, DebtEntry, User, Vend, VendBlock
from stron_tui.services import debt, tariffs
from tests.factories import add_meter, build_world

SALES_PER_PROCESS = 12


def _sell_many(database_url: str, settings, meter: str, worker: int, results) -> None:
    from stron_tui.db.engine import Database
    from stron_tui.services import auth, vending
    from stron_tui.services.context import AppContext

    db = Database(database_url)
    ctx = AppContext(settings=settings, db=db)
    ctx.vault  # noqa: B018
    with db.session() as session:
        admin = auth.actor_for(session, session.scalar(select(User).where(User.builtin_admin.is_(True))), "tui")
    for number in range(SALES_PER_PROCESS):
        request = vending.VendRequest(meter, "amount", "8.00", request_id=f"rev{worker}-sale{number:03d}")
        vending.vend(ctx, admin, request, payment_password="AdminPass1")
    db.dispose()
    results.put(worker)


def test_two_processes_never_share_the_cheap_block_the_charge_or_the_debt(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4910000001")
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "5.00", [("50", "0.10"), ("200", "0.20"), ("", "0.30")])
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "30.00", "Arrears", payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25"))
    url = ctx.db.url.render_as_string(hide_password=False)
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    workers = [spawn.Process(target=_sell_many, args=(url, ctx.settings, meter, n, results)) for n in range(2)]
    for process in workers:
        process.start()
    finished = {results.get(timeout=300) for _ in workers}
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert finished == {0, 1}

    with ctx.db.read_session() as session:
        vends = list(session.scalars(select(Vend).where(Vend.meter_number == meter).order_by(Vend.tid)))
        account = session.scalar(select(Account).where(Account.account_number == number))
        per_block = dict(session.execute(select(VendBlock.position, func.sum(VendBlock.units))
                                         .group_by(VendBlock.position)).all())
        recovered = session.scalar(select(func.sum(DebtEntry.amount)).where(DebtEntry.kind == "recovered"))
    assert len(vends) == 2 * SALES_PER_PROCESS
    assert sum(vend.fixed_charge for vend in vends) == D("5.00")  # the month's charge, once
    assert per_block[1] == D("50.0")  # the cheap block sold once, not once per process
    assert sum(vend.units for vend in vends) == account.month_units
    # 8.00 recovers 2.00 a sale until the 30.00 are gone: 15 sales, never more.
    assert sum(vend.debt_recovered for vend in vends) == D("30.00") == -recovered
    assert account.debt_balance == 0
    owed = D("30.00")
    for vend in vends:  # in TID order each sale starts from the one before
        owed -= vend.debt_recovered
        assert vend.debt_after == owed
        assert vend.debt_recovered + vend.fixed_charge + vend.energy_amount == vend.gross_amount == D("8.00")
    simulator = world.meter_simulator(meter)
    assert all(simulator.enter(vend.token).amount == vend.units for vend in vends)
