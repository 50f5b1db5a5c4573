"""The revenue model's Base Data screens at 80x24: tariff versions, a new version, an account's debt, the debt import.

Same fixed clock and data as test_screens_80x24.py (conftest.py); accept a change with --snapshot-update.
"""

from __future__ import annotations

import pytest

from stron_tui.app import StronApp
from stron_tui.services import debt, tariffs
from tests.factories import add_meter, build_world
from tests.screens.keyboard import fill, settle
from tests.screens.test_revenue_library_screens import open_account_debt, open_tariff_versions

SIZE = (80, 24)
PAYMENT_PASSWORD = "AdminPass1"


@pytest.fixture
def priced(ctx, admin):
    """Home with a past version, the one in force and one scheduled; an account owing debt with its history."""
    world = build_world(ctx)
    meter = add_meter(world, "4960000001")
    tariffs.add_version(ctx, admin, "Home", "2025-01-01", "0", [("", "0.18")])
    tariffs.add_version(ctx, admin, "Home", "2026-01-01", "2.50", [("50", "0.10"), ("200", "0.20"), ("", "0.30")])
    tariffs.add_version(ctx, admin, "Home", "2026-07-01", "3.00", [("50", "0.12"), ("", "0.25")])
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "120.00", "Postpaid arrears", payment_password=PAYMENT_PASSWORD)
    debt.change_debt(ctx, admin, number, "written_off", "20.00", "Hardship", payment_password=PAYMENT_PASSWORD)
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25", recovery_month_limit="30",
                                                                 free_units="50"))
    world.meter = meter
    return world


async def _tariff_versions(pilot):
    await settle(pilot.app, pilot)
    await open_tariff_versions(pilot.app, pilot, "home")


async def _account_debt(pilot, meter: str):
    await settle(pilot.app, pilot)
    await open_account_debt(pilot.app, pilot, meter)


def test_tariff_versions(snap_compare, ctx, admin, priced):
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=_tariff_versions)


def test_new_tariff_version_with_an_error(snap_compare, ctx, admin, priced):
    async def run_before(pilot):
        await _tariff_versions(pilot)
        await pilot.press("n")
        await settle(pilot.app, pilot)
        await fill(pilot.app, pilot, {"effective_from": "2026-10-01", "fixed_charge": "3.00",
                                      "blocks-1-up_to": "50", "blocks-1-price": "0"})
        await pilot.press("ctrl+s")
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)


def test_account_debt(snap_compare, ctx, admin, priced):
    async def run_before(pilot):
        await _account_debt(pilot, priced.meter)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)


def test_account_debt_write_off_without_a_reason(snap_compare, ctx, admin, priced):
    async def run_before(pilot):
        await _account_debt(pilot, priced.meter)
        await pilot.press("f7", "f7", *"10", "enter", "enter", *"AdminPass1", "enter")
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)


def test_debt_import(snap_compare, ctx, admin, priced):
    async def run_before(pilot):
        await settle(pilot.app, pilot)
        await pilot.press("f3", "6")
        await settle(pilot.app, pilot)
        await pilot.press("u")
        await settle(pilot.app, pilot)
    assert snap_compare(StronApp(ctx, actor=admin), terminal_size=SIZE, run_before=run_before)
