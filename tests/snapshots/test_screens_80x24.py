"""Every screen at 80x24, the design size, in its usual states: empty, filled, error, receipt.

Each picture is an SVG beside this file (__snapshots__/); a change to a screen's look
fails here until it is looked at and accepted with `pytest tests/snapshots --snapshot-update`.
The clock and the data are fixed (conftest.py) and cursors do not blink, so a run repeats.
"""

from __future__ import annotations

import pytest

from screens.menu import ModuleScreen
from screens.registry import ENTRIES
from stron_tui.app import StronApp
from stron_tui.services import vending
from stron_tui.services.permissions import MODULES
from stron_tui.services.vending import VendRequest
from tests.factories import add_meter, build_world
from tests.screens.keyboard import enter, fill, settle

SIZE = (80, 24)
PAYMENT_PASSWORD = "AdminPass1"  # the admin fixture's password, also its payment password
# Top-up screens are pictured last, by their own tests below.
SCREENS = [entry.key for entry in ENTRIES if entry.module != "topup" or entry.key == "topup.reprint"]


@pytest.fixture
def shop(ctx, admin):
    """A station with five meters of two utilities and three sales."""
    world = build_world(ctx)
    meters = [add_meter(world, f"42000000{index:02d}", tariff=tariff)
              for index, tariff in enumerate(["inclusive", "inclusive", "exclusive", "water", "inclusive"], 1)]
    for meter, amount in ((meters[0], "10"), (meters[1], "25.50"), (meters[3], "8")):
        vending.vend(ctx, admin, VendRequest(meter, "amount", amount, request_id=vending.new_request_id()),
                     payment_password=PAYMENT_PASSWORD)
    world.meter_numbers = meters
    return world


def opened(key: str, *keys: str):
    """Open a screen from the registry, press keys, and wait until it has shown what it loaded."""
    async def run_before(pilot):
        app = pilot.app
        await settle(app, pilot)
        app.open_entry(key)
        await settle(app, pilot)
        for pressed in keys:
            await pilot.press(pressed)
            await settle(app, pilot)
    return run_before


# Login and menus ---------------------------------------------------------------------------------------------


def test_login(snap_compare, ctx, admin):
    assert snap_compare(StronApp(ctx), terminal_size=SIZE)


def test_login_wrong_password(snap_compare, ctx, admin):
    async def run_before(pilot):
        await settle(pilot.app, pilot)
        await enter(pilot, "user", "Admin")
        await enter(pilot, "password", "not-the-password")
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx), terminal_size=SIZE, run_before=run_before)


def test_main_menu_with_the_last_receipts(snap_compare, ctx, admin, shop):
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE)


@pytest.mark.parametrize("module", [module.key for module in MODULES])
def test_module_menu(snap_compare, ctx, admin, module):
    async def run_before(pilot):
        await settle(pilot.app, pilot)
        pilot.app.push_screen(ModuleScreen(module))
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)


def test_keys_help_of_the_meter_library(snap_compare, ctx, admin, shop):
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE,
                        run_before=opened("basedata.meters", "f1"))


# Every screen: empty (a new database), then filled --------------------------------------------------------------


@pytest.mark.parametrize("key", SCREENS)
def test_empty(snap_compare, ctx, admin, key):
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=opened(key))


@pytest.mark.parametrize("key", SCREENS)
def test_filled(snap_compare, ctx, admin, shop, key):
    # A report shows its figures once run (Ctrl+R); the other screens list their data when opened.
    keys = ("ctrl+r",) if key.startswith("reports.") else ()
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=opened(key, *keys))


# Errors and receipts ----------------------------------------------------------------------------------------------


def test_library_form_with_an_error(snap_compare, ctx, admin):
    async def run_before(pilot):
        await opened("basedata.districts", "n")(pilot)
        await fill(pilot.app, pilot, {"code": "N1", "name": "North Zone", "kind": "nowhere"})
        await pilot.press("ctrl+s")
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)


def test_clear_tamper_unknown_meter(snap_compare, ctx, admin, shop):
    async def run_before(pilot):
        await opened("exceptions.clear_tamper")(pilot)
        await enter(pilot, "meter", "01234567890")
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)


def test_reprint_receipt(snap_compare, ctx, admin, shop):
    async def run_before(pilot):
        await opened("topup.reprint")(pilot)
        await pilot.press(*"S1-00000002", "enter")
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)


# The top-up screen last -----------------------------------------------------------------------------------------


def test_top_up_empty(snap_compare, ctx, admin, shop):
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=opened("topup.amount"))


def top_up(*steps: str):
    async def run_before(pilot):
        app = pilot.app
        await opened("topup.amount")(pilot)
        meter = app.shop_meter
        for step in steps:
            if step == "meter":
                await pilot.press(*meter[:8])
                await settle(app, pilot)
                await pilot.press("enter")
            else:
                await pilot.press(*step)
                await pilot.press("enter")
            await settle(app, pilot)
    return run_before


def shop_app(ctx, admin, shop):
    app = StronApp(ctx, actor=admin)
    app.shop_meter = shop.meter_numbers[4]
    return app


def test_top_up_meter_found(snap_compare, ctx, admin, shop):
    assert snap_compare(shop_app(ctx, admin, shop), terminal_size=SIZE, run_before=top_up("meter"))


def test_top_up_amount_error(snap_compare, ctx, admin, shop):
    assert snap_compare(shop_app(ctx, admin, shop), terminal_size=SIZE, run_before=top_up("meter", "abc"))


def test_top_up_receipt(snap_compare, ctx, admin, shop):
    assert snap_compare(shop_app(ctx, admin, shop), terminal_size=SIZE,
                        run_before=top_up("meter", "12.50", PAYMENT_PASSWORD))
