"""What a cashier sees at the edges of the design size: the token on one line, receipts that use the room."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from stron_tui.app import StronApp
from stron_tui.db.models import Vend
from stron_tui.services import vending
from stron_tui.services.vending import VendRequest
from tests.factories import add_meter, build_world
from tests.screens.keyboard import enter, settle


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def sell_by_keys(app, pilot, meter: str, amount: str) -> None:
    app.open_entry("topup.amount")
    await settle(app, pilot)
    await pilot.press(*meter)
    await settle(app, pilot)
    await pilot.press("enter")
    await settle(app, pilot)
    await enter(pilot, "value", amount)
    await settle(app, pilot)
    await enter(pilot, "pin", "AdminPass1")
    await settle(app, pilot)


@pytest.mark.parametrize("width", [60, 80, 120])
async def test_the_token_never_wraps_from_60_columns(ctx, admin, width):
    world = build_world(ctx)
    meter = add_meter(world, "4300000001")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(width, 24)) as pilot:
        await sell_by_keys(app, pilot, meter, "10")
        with ctx.db.read_session() as session:
            token = session.scalar(select(Vend.token))
        grouped = " ".join(token[i:i + 4] for i in range(0, 20, 4))
        assert any(grouped in line for line in screen_lines(app)), "\n".join(screen_lines(app))


@pytest.mark.parametrize(("width", "receipt_width"), [(80, 60), (120, 60), (60, 54)])
async def test_the_receipt_view_uses_the_room_it_has(ctx, admin, width, receipt_width):
    world = build_world(ctx)
    meter = add_meter(world, "4300000002")
    receipt = vending.vend(ctx, admin, VendRequest(meter, "amount", "10", request_id=vending.new_request_id()),
                           payment_password="AdminPass1")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(width, 24)) as pilot:
        app.open_entry("topup.reprint")
        await settle(app, pilot)
        await enter(pilot, "number", receipt.receipt_number)
        await settle(app, pilot)
        rules = [line.strip() for line in screen_lines(app) if line.strip().startswith("----")]
        assert rules and len(rules[0]) == receipt_width


async def test_dropdowns_show_several_options_at_once(ctx, admin):
    from textual.widgets import Select
    from textual.widgets._select import SelectOverlay

    build_world(ctx)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_entry("topup.amount")
        await settle(app, pilot)
        select = app.screen.query_one("#payment-type", Select)
        select.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        overlay = select.query_one(SelectOverlay)
        assert overlay.option_count >= 3
        assert overlay.region.height >= overlay.option_count
        await pilot.press("escape")
        app.open_entry("system.users")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        select = app.screen.query_one("#role", Select)
        select.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        overlay = select.query_one(SelectOverlay)
        assert overlay.option_count >= 3 and overlay.region.height >= 3


async def test_fields_that_name_a_record_complete_as_typed_and_enter_takes_the_name(ctx, admin):
    from textual.widgets import Input

    from stron_tui.services.meters import METER_TYPES

    build_world(ctx)  # district D1, tariffs Home, Business, Water
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_entry("basedata.stations")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        field = app.screen.query_one("#input-district_code", Input)
        field.focus()
        await pilot.press("d")
        await settle(app, pilot)
        assert field._suggestion.lower() == "d1"
        await pilot.press("enter")
        assert field.value == "D1"
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("escape")
        app.open_entry("basedata.meters")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        field = app.screen.query_one("#input-meter_type", Input)
        field.focus()
        field.value = ""
        wanted = next(kind for kind in METER_TYPES if kind.startswith("three"))
        await pilot.press(*"three")
        await settle(app, pilot)
        await pilot.press("enter")
        assert field.value == wanted
        number = app.screen.query_one("#input-meter_number", Input)
        assert number.suggester is None  # a new meter's own number is typed, never completed


async def test_the_user_form_completes_the_station_code(ctx, admin):
    from textual.widgets import Input

    build_world(ctx)  # station S1
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_entry("system.users")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        field = app.screen.query_one("#station", Input)
        field.focus()
        await pilot.press("s")
        await settle(app, pilot)
        assert field._suggestion == "S1"
        await pilot.press("enter")  # takes the code, then tries to save (the empty user ID is refused)
        await settle(app, pilot)
        assert field.value == "S1"
