"""Cash control by keyboard at 80x24: open a shift, sell, close it, a supervisor signs it off; a reversal."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from textual.widgets import Static

from screens.topup.cash import ReversalScreen, ShiftScreen, ShiftSignOffScreen
from stron_tui.app import StronApp
from stron_tui.db.models import Reversal, Shift, ShiftCount, Vend
from tests.cash_helpers import PAYMENT, cashier, sell, supervisor
from tests.factories import add_meter, build_world
from tests.screens.keyboard import settle
from tests.screens.test_cashier_day import choose_meter, open_topup, preview

SIZE = (80, 24)


def text_of(screen, selector) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_entry(app, pilot, key, screen_class):
    await settle(app, pilot)
    app.open_entry(key)
    await settle(app, pilot)
    assert isinstance(app.screen, screen_class)
    return app.screen


async def test_open_shift_sell_close_and_sign_off(shifts_on, admin):
    ctx = shifts_on
    world = build_world(ctx)
    meter = add_meter(world, "4850000001")
    till = cashier(ctx, admin, world)
    boss = supervisor(ctx, admin, world)
    app = StronApp(ctx, actor=till)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_entry(app, pilot, "topup.shift", ShiftScreen)
        assert "No open shift" in text_of(screen, "#shift-state")
        await pilot.press(*"50", "enter")
        await settle(app, pilot)
        assert "is open: you can sell now" in text_of(screen, "#topup-message")
        await pilot.press("escape")
        await settle(app, pilot)
        topup = await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await preview(app, pilot, "10")
        await pilot.press(*PAYMENT, "enter")
        await settle(app, pilot)
        assert topup.receipt is not None
        await pilot.press("escape")
        await settle(app, pilot)
        screen = await open_entry(app, pilot, "topup.shift", ShiftScreen)
        await settle(app, pilot)
        assert "60.00" in text_of(screen, "#shift-state")  # 50.00 float + 10.00 sold
        # Each figure on its own line within the pane at 80x24 (a six-column row wrapped over two lines).
        figures = text_of(screen, "#shift-state").split("\n\n", 1)[1].splitlines()
        assert "  Expected             60.00" in figures
        assert max(map(len, figures)) <= screen.query_one("#shift-state").content_size.width
        await pilot.press(*"58", "enter")
        await settle(app, pilot)
        state = text_of(screen, "#shift-state")
        assert "CLOSED" in state and "-2.00" in state and "SHORT" in text_of(screen, "#topup-message")
    with ctx.db.read_session() as session:
        shift = session.scalar(select(Shift))
        count = session.scalar(select(ShiftCount))
    assert (shift.status, count.expected, count.declared) == ("closed", Decimal("60.00"), Decimal("58.00"))

    app = StronApp(ctx, actor=boss)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_entry(app, pilot, "reports.shifts", ShiftSignOffScreen)
        assert f"SH{shift.id:08d}" in text_of(screen, "#shift-state")
        await pilot.press(*f"SH{shift.id:08d}", "enter")
        await settle(app, pilot)
        await pilot.press(*"short paid back", "enter")
        await pilot.press(*PAYMENT, "enter")
        await settle(app, pilot)
        assert "is signed off" in text_of(screen, "#topup-message")
        await pilot.press("f8")  # the shift report of the shift just signed off (its number field is empty now)
        await settle(app, pilot)
        said = text_of(screen, "#topup-message")
        assert said.startswith("Saved ") and f"shift-SH{shift.id:08d}-" in said and said.endswith(".pdf")
    with ctx.db.read_session() as session:
        shift = session.scalar(select(Shift))
    assert (shift.status, shift.note) == ("signed", "short paid back")


async def test_a_reversal_by_keyboard(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4850000002")
    sale = sell(ctx, admin, meter, "10", password="AdminPass1")
    boss = supervisor(ctx, admin, world)
    app = StronApp(ctx, actor=boss)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_entry(app, pilot, "topup.reverse", ReversalScreen)
        await pilot.press(*sale.receipt_number, "enter")
        await settle(app, pilot)
        assert "can't be taken back" in text_of(screen, "#sale")
        await pilot.press(*"wrong meter", "enter")
        await pilot.press("space", "tab")
        await pilot.press(*PAYMENT, "enter")
        await settle(app, pilot)
        assert "REVERSED: R" in text_of(screen, "#sale")
        assert "Token declared unused" in text_of(screen, "#sale")
    with ctx.db.read_session() as session:
        reversal = session.scalar(select(Reversal))
        vend = session.scalar(select(Vend))
    assert (reversal.reason, reversal.token_declared_unused) == ("wrong meter", True)
    assert vend.reversed_at is not None


async def test_vendor_statement_by_keyboard_and_saved_as_excel(ctx, admin):
    from screens.reports.vendor import VendorStatementScreen
    from stron_tui.services import vendor_floats
    from stron_tui.domain.clock import local_date, utcnow

    world = build_world(ctx)
    meter = add_meter(world, "4850000003")
    vendor_floats.set_up_float(ctx, admin, station="S1", currency="USD")
    vendor_floats.record_movement(ctx, admin, station="S1", kind="deposit", amount="30", reason="paid in")
    sell(ctx, admin, meter, "10", password="AdminPass1")
    boss = supervisor(ctx, admin, world)
    today = local_date(utcnow(), ctx.settings.zone).isoformat()
    app = StronApp(ctx, actor=boss)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_entry(app, pilot, "reports.vendor_statement", VendorStatementScreen)
        await pilot.press(*"S1", "enter", *today, "enter", *today, "enter")
        await settle(app, pilot)
        assert "Closing                     20.00" in text_of(screen, "#statement")
        await pilot.press("f7")
        await settle(app, pilot)
        assert "Saved" in text_of(screen, "#topup-message") and ".xlsx" in text_of(screen, "#topup-message")


async def test_vendor_float_set_up_and_deposit_by_keyboard(ctx, admin):
    from screens.system.floats import VendorFloatScreen
    from stron_tui.db.models import VendorFloat, VendorFloatEntry

    world = build_world(ctx)
    boss = supervisor(ctx, admin, world)
    app = StronApp(ctx, actor=boss)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_entry(app, pilot, "system.vendor_floats", VendorFloatScreen)
        await pilot.press(*"S1", "enter")
        await settle(app, pilot)
        assert "sells without a float" in text_of(screen, "#topup-message")
        await pilot.press("f7", "f7")  # deposit -> adjustment -> set-up
        await pilot.press(*"USD 100", "enter", *"0.02", "enter")
        await settle(app, pilot)
        assert "Credit limit          100.00" in text_of(screen, "#float")
        await pilot.press("f7")  # -> deposit
        await pilot.press(*"250", "enter", "enter")
        await settle(app, pilot)
        assert "Give the reason for this deposit" in text_of(screen, "#topup-message")
        await pilot.press(*"banked", "enter")
        await settle(app, pilot)
        assert "Balance 250.00 USD" in text_of(screen, "#topup-message")
    with ctx.db.read_session() as session:
        assert session.scalar(select(VendorFloat.balance)) == Decimal("250")
        assert session.scalar(select(VendorFloatEntry.reason)) == "banked"


async def test_a_sale_refused_for_no_shift_goes_on_after_f6_opens_one(shifts_on, admin):
    ctx = shifts_on
    world = build_world(ctx)
    meter = add_meter(world, "4850000009")
    till = cashier(ctx, admin, world)
    app = StronApp(ctx, actor=till)
    async with app.run_test(size=SIZE) as pilot:
        topup = await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await preview(app, pilot, "10")
        assert "Open a shift first" in text_of(topup, "#topup-message")
        await pilot.press("f6")
        await settle(app, pilot)
        assert isinstance(app.screen, ShiftScreen)
        await pilot.press(*"50", "enter")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is topup
        # The refusal is gone with its cause, and the sale typed before it is shown again, ready to confirm.
        assert "Open a shift first" not in text_of(topup, "#topup-message")
        assert "PREVIEW" in text_of(topup, "#preview") and topup.focused.id == "pin"
        await pilot.press(*PAYMENT, "enter")
        await settle(app, pilot)
        assert topup.receipt is not None
    with ctx.db.read_session() as session:
        assert len(session.scalars(select(Vend)).all()) == 1
