"""A sale with debt and a fixed charge by keyboard at 80x24: the preview and the receipt itemise them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from textual.widgets import Static

from stron_tui.app import StronApp
from stron_tui.db.models import Account, Vend
from stron_tui.services import debt, tariffs
from tests.factories import add_meter, build_world


async def test_a_sale_with_debt_and_a_fixed_charge_by_keyboard(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4920000001")
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "5.00", [("50", "0.10"), ("200", "0.20"), ("", "0.30")])
    debt.change_debt(ctx, admin, world.accounts[meter], "added", "100.00", "Arrears", payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, world.accounts[meter], debt.RevenueTerms(recovery_percent="25"))
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press(*meter[:6])
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"40", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        preview = str(app.screen.query_one("#preview", Static).render())
        # 40.00: debt 10.00 (90.00 left), charge 5.00, energy 25.00 = 50 kWh x 0.10 + 100 kWh x 0.20
        for expected in ("Debt        10.00 USD (still owed 90.00 USD)", "Fixed chg   5.00 USD (1 month)",
                         "block 1: 50.0 kWh x 0.1 = 5.00", "block 2: 100.0 kWh x 0.2 = 20.00", "150.0 kWh"):
            assert expected in preview
        await pilot.press(*"AdminPass1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        receipt = str(app.screen.query_one("#preview", Static).render())
        for expected in ("Debt recovered", "Debt still owed", "90.00 USD", "Fixed charge 1 mo", "Block 2"):
            assert expected in receipt
    with ctx.db.read_session() as session:
        vend = session.scalar(select(Vend))
        assert session.scalar(select(Account.debt_balance)) == Decimal("90.00")
    assert world.meter_simulator(meter).enter(vend.token).amount == Decimal("150.0")


async def test_a_debt_only_payment_by_keyboard_gives_a_receipt_and_no_token(ctx, admin):
    from stron_tui.db.models import DebtEntry

    world = build_world(ctx)
    meter = add_meter(world, "4920000002")
    debt.change_debt(ctx, admin, world.accounts[meter], "added", "30.00", "Arrears", payment_password="AdminPass1")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press(*meter[:6])
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("f7", "f7")  # amount -> units -> debt payment
        await pilot.pause()
        assert "debt payment" in str(app.screen.query_one("#topup-title", Static).render())
        await pilot.press(*"12.50", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        preview = str(app.screen.query_one("#preview", Static).render())
        assert "Still owed  17.50 USD" in preview
        await pilot.press(*"AdminPass1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "DEBT PAYMENT: no token" in str(app.screen.query_one("#target", Static).render())
        assert "still owed 17.50 USD" in str(app.screen.query_one("#preview", Static).render())
    with ctx.db.read_session() as session:
        assert session.scalar(select(Account.debt_balance)) == Decimal("17.50")
        assert session.scalar(select(DebtEntry.kind).order_by(DebtEntry.id.desc())) == "paid"
        assert session.scalar(select(Vend)) is None
