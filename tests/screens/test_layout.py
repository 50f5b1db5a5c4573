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


async def test_the_account_view_shows_every_line_at_80x24_and_amounts_in_the_minor_unit(ctx, admin):
    from screens.basedata.accounts import AccountViewScreen
    from stron_tui.db.models import Account
    from stron_tui.services import management

    world = build_world(ctx)
    meter = add_meter(world, "4300000003")
    for amount in ("10", "12.5", "20", "30", "40", "50"):
        vending.vend(ctx, admin, VendRequest(meter, "amount", amount, request_id=vending.new_request_id()),
                     payment_password="AdminPass1")
    management.issue(ctx, admin, management.ManagementRequest(meter, "clear_tamper", "tamper-0001",
                                                              reason="Storm damage"), payment_password="AdminPass1")
    with ctx.db.read_session() as session:
        account_id = session.scalar(select(Account.id))
        token = session.scalar(select(Vend.token).order_by(Vend.id.desc()))
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(AccountViewScreen(account_id))
        await settle(app, pilot)
        seen = set(screen_lines(app))
        for _ in range(6):  # the keyboard reaches what is below the fold
            await pilot.press("pagedown")
            await settle(app, pilot)
            seen |= set(screen_lines(app))
        text = "\n".join(seen)
        assert "12.50 USD" in text and "12.5000" not in text
        assert " ".join(token[i:i + 4] for i in range(0, 20, 4)) in text  # grouped, on one line
        assert "Storm damage" in text  # the last section, below the fold at 80x24


async def test_the_reversal_form_shows_its_whole_checkbox_label_at_80x24(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_entry("topup.reverse")
        await settle(app, pilot)
        assert any("Token unused (customer says)" in line for line in screen_lines(app)), "\n".join(screen_lines(app))


async def test_every_module_menu_shows_each_function_on_one_line_at_80x24(ctx, admin):
    from textual.widgets import OptionList

    from screens.menu import ModuleScreen
    from stron_tui.services.permissions import MODULES

    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for module in MODULES:
            app.push_screen(ModuleScreen(module.key))
            await settle(app, pilot)
            functions = app.screen.query_one("#functions", OptionList)
            # A description too long for the line wraps onto a second one, under the next number.
            assert functions.virtual_size.height == functions.option_count, module.key
            app.pop_screen()
            await settle(app, pilot)
