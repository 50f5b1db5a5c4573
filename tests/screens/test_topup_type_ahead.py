"""Keys typed after Enter, before its answer, go to the field the answer opens, in order."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from textual.widgets import Input, Static

from stron_tui.app import StronApp
from stron_tui.db.models import Vend
from tests.factories import add_meter, build_world
from tests.screens.keyboard import burst, settle


def _value(app, field_id: str) -> str:
    return app.screen.query_one(f"#{field_id}", Input).value


async def _open_topup(app, pilot) -> None:
    await pilot.press("f2")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "TopUpScreen"


async def test_the_amount_typed_right_after_enter_on_the_meter_lands_in_the_amount(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4200000011")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_topup(app, pilot)
        # In one burst (pilot.press lets the app go idle after each key, which hides the problem).
        await burst(pilot, *meter, "enter", "1", "5")
        await settle(app, pilot)
        assert _value(app, "find") == meter
        assert _value(app, "value") == "15"
        assert app.focused.id == "value"
        await pilot.press("enter")
        await settle(app, pilot)
        assert "Net charge" in str(app.screen.query_one("#preview", Static).render())
        await pilot.press(*"AdminPass1", "enter")
        await settle(app, pilot)
    with ctx.db.read_session() as session:
        vend = session.scalar(select(Vend))
    assert vend.paid_amount == Decimal("15")


async def test_a_whole_sale_arriving_in_one_burst_sells_what_was_typed(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4200000012")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_topup(app, pilot)
        # All queued before the first is handled, as a slow SSH link delivers them.
        await burst(pilot, *meter, "enter", "1", "5", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        token_line = str(app.screen.query_one("#target", Static).render())
        assert "TOKEN" in token_line
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count(Vend.id))) == 1
        vend = session.scalar(select(Vend))
    assert vend.paid_amount == Decimal("15")


async def test_the_password_typed_right_after_enter_on_the_amount_lands_in_the_password(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4200000013")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_topup(app, pilot)
        await pilot.press(*meter, "enter")
        await settle(app, pilot)
        await burst(pilot, "2", "0", "enter", *"AdminPass1")
        await settle(app, pilot)
        assert _value(app, "value") == "20"
        assert _value(app, "pin") == "AdminPass1"
        assert app.focused.id == "pin"
        await pilot.press("enter")
        await settle(app, pilot)
    with ctx.db.read_session() as session:
        assert session.scalar(select(Vend.paid_amount)) == Decimal("20")


async def test_keys_typed_after_a_failed_look_up_are_not_put_into_the_meter_and_it_says_so(ctx, admin):
    build_world(ctx)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_topup(app, pilot)
        notified = len(app._notifications)
        await burst(pilot, *"4299999999", "enter", "1", "5")
        await settle(app, pilot)
        assert _value(app, "find") == "4299999999"
        assert _value(app, "value") == ""
        assert app.focused.id == "find"
        messages = [n.message for n in list(app._notifications)[notified:]]
        assert any("Not used: 2 characters typed after Enter" in m for m in messages)


async def test_the_next_sale_typed_in_one_burst_right_after_enter_on_the_receipt_is_sold(ctx, admin):
    world = build_world(ctx)
    first, second = add_meter(world, "4200000014"), add_meter(world, "4200000015")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_topup(app, pilot)
        await burst(pilot, *first, "enter", "1", "5", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert "TOKEN" in str(app.screen.query_one("#target", Static).render())
        # The receipt has the focus: its Enter starts the next sale, and what follows is that sale.
        await burst(pilot, "enter", *second, "enter", "2", "0", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert "TOKEN" in str(app.screen.query_one("#target", Static).render())
    with ctx.db.read_session() as session:
        sold = session.execute(select(Vend.meter_number, Vend.paid_amount).order_by(Vend.id)).all()
    assert sold == [(first, Decimal("15")), (second, Decimal("20"))]


async def test_a_meter_number_typed_right_after_f2_on_the_menu_lands_in_the_meter_field(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4200000016")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        # The Top-up Center reads its lists before it is drawn: the keys typed meanwhile are its own.
        await burst(pilot, "f2", *meter, "enter", "1", "5")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "TopUpScreen"
        assert _value(app, "find") == meter
        assert _value(app, "value") == "15"
        assert app.focused.id == "value"


async def test_a_correction_typed_in_one_burst_edits_the_amount_in_the_order_typed(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4200000017")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_topup(app, pilot)
        await pilot.press(*meter, "enter")
        await settle(app, pilot)
        # Backspace and the arrows are the field's own keys: they act between the characters around them.
        await burst(pilot, "1", "2", "backspace", "3")
        await settle(app, pilot)
        assert _value(app, "value") == "13"
        await burst(pilot, "left", "5", "end", "0", "home", "delete")
        await settle(app, pilot)
        assert _value(app, "value") == "530"
