"""Price Library versions and Account Library debt, by keyboard at 80x24; each test reads the database after."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select
from textual.widgets import DataTable, Static

from stron_tui.app import StronApp
from stron_tui.db.models import Account, DebtEntry, TariffBlock, TariffVersion
from stron_tui.services import tariffs
from stron_tui.services.permissions import Actor
from tests.factories import add_meter, build_world
from tests.screens.keyboard import fill, settle, type_text
from widgets.fields import LabeledField

SIZE = (80, 24)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def rows_of(app, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


async def find_in_library(app, pilot, number: str, text: str, *then: str) -> None:
    """Open Base Data library `number`, search for `text`, then press the keys `then`."""
    await pilot.press("f3", number)
    await settle(app, pilot)
    await pilot.press("slash")
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(app, pilot)
    await pilot.press(*then)
    await settle(app, pilot)


async def open_tariff_versions(app, pilot, name: str) -> None:
    await find_in_library(app, pilot, "2", name, "v")


async def test_a_version_entered_ahead_is_listed_as_scheduled_beside_the_one_in_force(ctx, admin):
    build_world(ctx)
    tariffs.add_version(ctx, admin, "Home", "2019-01-01", "0", [("", "0.18")])
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "2.50", [("", "0.20")])
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_tariff_versions(app, pilot, "home")
        assert [row[:3] for row in rows_of(app, "#versions")] == [
            ["2020-01-01 00:00", "in force", "2.50"], ["2019-01-01 00:00", "past", "0.00"]]
        assert "read-only" in text_of(app, "#version-detail")
        await pilot.press("n")
        await settle(app, pilot)
        # A zero price is refused at its field and nothing is saved.
        await fill(app, pilot, {"effective_from": "2031-01-01", "fixed_charge": "5.00", "blocks-1-up_to": "50",
                                "blocks-1-price": "0.10", "blocks-2-price": "0"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        error = app.screen.query_one("#field-blocks-2-price", LabeledField).error
        assert "Block 2: the price must be more than 0." == error
        await fill(app, pilot, {"blocks-2-up_to": "200", "blocks-2-price": "0.20", "blocks-3-price": "0.30"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert rows_of(app, "#versions")[0] == ["2031-01-01 00:00", "scheduled", "5.00",
                                               "0-50 at 0.1, 50-200 at 0.2, over 200 at 0.3"]
        assert rows_of(app, "#versions")[1][:2] == ["2020-01-01 00:00", "in force"]
        assert "Caps: units/day -" in text_of(app, "#version-terms")
    with ctx.db.read_session() as session:
        [charge] = session.scalars(select(TariffVersion.fixed_charge).where(TariffVersion.fixed_charge == D(5)))
        blocks = session.execute(select(TariffBlock.up_to, TariffBlock.price_per_unit)
                                 .join(TariffVersion).where(TariffVersion.fixed_charge == D(5))
                                 .order_by(TariffBlock.position)).all()
        assert blocks == [(D(50), D("0.1")), (D(200), D("0.2")), (None, D("0.3"))]


async def test_a_scheduled_version_is_withdrawn_with_del_and_one_in_force_is_not(ctx, admin):
    build_world(ctx)
    tariffs.add_version(ctx, admin, "Home", "2020-01-01", "2.50", [("", "0.20")])
    tariffs.add_version(ctx, admin, "Home", "2031-01-01", "9.99", [("", "0.99")])  # a typo, caught in time
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_tariff_versions(app, pilot, "home")
        await pilot.press("down")  # the one in force: refused, nothing asked
        await pilot.press("delete")
        await settle(app, pilot)
        assert "in force and stays in the history" in text_of(app, "#version-detail")
        assert app.screen.__class__.__name__ == "TariffVersionsScreen"
        await pilot.press("up", "delete")
        await settle(app, pilot)
        await pilot.press("n")  # asked first: No keeps it
        await settle(app, pilot)
        assert len(rows_of(app, "#versions")) == 2
        await pilot.press("delete")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert [row[:2] for row in rows_of(app, "#versions")] == [["2020-01-01 00:00", "in force"]]
    with ctx.db.read_session() as session:
        assert session.scalars(select(TariffVersion.fixed_charge)).all() == [D("2.50")]
        assert session.scalar(select(TariffBlock.price_per_unit).where(TariffBlock.price_per_unit == D("0.99"))) is None


def test_withdrawing_a_version_in_force_or_of_another_tariff_changes_nothing(ctx, admin):
    import pytest

    from stron_tui.errors import Conflict, NotFound, PermissionDenied

    build_world(ctx)
    in_force = tariffs.add_version(ctx, admin, "Home", "2020-01-01", "2.50", [("", "0.20")])
    ahead = tariffs.add_version(ctx, admin, "Home", "2031-01-01", "3.00", [("", "0.25")])
    with pytest.raises(Conflict, match="stays in the history"):
        tariffs.withdraw_version(ctx, admin, "Home", in_force.id)
    with pytest.raises(NotFound):
        tariffs.withdraw_version(ctx, admin, "Business", ahead.id)  # not that tariff's version
    viewer = Actor(user_id=admin.user_id, user_code="viewer", source="tui", station_id=None,
                   permissions=frozenset({"basedata.view"}))
    with pytest.raises(PermissionDenied):
        tariffs.withdraw_version(ctx, viewer, "Home", ahead.id)
    with ctx.db.read_session() as session:
        assert sorted(session.scalars(select(TariffVersion.fixed_charge)).all()) == [D("2.50"), D("3.00")]
    tariffs.withdraw_version(ctx, admin, "Home", ahead.id)
    with ctx.db.read_session() as session:
        assert session.scalars(select(TariffVersion.fixed_charge)).all() == [D("2.50")]


async def test_a_version_dated_before_a_sale_is_refused_at_its_field(ctx, admin):
    from stron_tui.services import vending

    world = build_world(ctx)
    meter = add_meter(world, "4930000001")
    vending.vend(ctx, admin, vending.VendRequest(meter, "amount", "10", request_id=vending.new_request_id()),
                 payment_password="AdminPass1")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_tariff_versions(app, pilot, "home")
        assert "No versions yet" in text_of(app, "#version-detail")
        await pilot.press("n")
        await settle(app, pilot)
        await fill(app, pilot, {"effective_from": "2020-01-01", "blocks-1-price": "0.30"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        error = app.screen.query_one("#field-effective_from", LabeledField).error
        assert "would change sold history" in error
    with ctx.db.read_session() as session:
        assert session.scalar(select(TariffVersion.id)) is None


async def test_the_new_version_key_is_only_for_those_who_edit_tariffs(ctx, admin):
    build_world(ctx)
    viewer = Actor(user_id=admin.user_id, user_code="viewer", source="tui", station_id=None,
                   permissions=frozenset({"basedata.view"}))
    app = StronApp(ctx, actor=viewer)
    async with app.run_test(size=SIZE) as pilot:
        await open_tariff_versions(app, pilot, "home")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen.__class__.__name__ == "TariffVersionsScreen"


async def open_account_debt(app, pilot, meter: str) -> None:
    await find_in_library(app, pilot, "6", meter, "enter", "b")  # the account's view, then its debt


async def test_a_supervisor_adds_then_writes_off_debt_with_a_reason_and_the_payment_password(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4930000002")
    number = world.accounts[meter]
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_account_debt(app, pilot, meter)
        assert text_of(app, "#debt-position").startswith("Debt 0.00 USD")
        # No reason: refused at the field, nothing recorded.
        await type_text(pilot, "120.00")
        await pilot.press("enter", "enter")
        await type_text(pilot, "AdminPass1")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "Give the reason" in app.screen.query_one("#field-reason", LabeledField).error
        await type_text(pilot, "Postpaid arrears")
        await pilot.press("enter")
        await type_text(pilot, "AdminPass1")
        await pilot.press("enter")
        await settle(app, pilot)
        assert text_of(app, "#debt-position").startswith("Debt 120.00 USD")
        await pilot.press("f7", "f7")  # add -> adjust -> write off
        await type_text(pilot, "20")
        await pilot.press("enter")
        await type_text(pilot, "Hardship")
        await pilot.press("enter")
        await type_text(pilot, "wrong-password")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "password" in app.screen.query_one("#field-pin", LabeledField).error.lower()
        await type_text(pilot, "AdminPass1")
        await pilot.press("enter")
        await settle(app, pilot)
        assert text_of(app, "#debt-position").startswith("Debt 100.00 USD")
        assert [row[1:] for row in rows_of(app, "#debt-history")] == [
            ["written off", "-20.00", "100.00", "Hardship"], ["added", "+120.00", "120.00", "Postpaid arrears"]]
    with ctx.db.read_session() as session:
        assert session.scalar(select(Account.debt_balance).where(Account.account_number == number)) == D("100.00")
        assert list(session.scalars(select(DebtEntry.kind).order_by(DebtEntry.id))) == ["added", "written_off"]


async def test_without_the_debt_right_the_debt_is_shown_and_cannot_be_changed(ctx, admin):
    from stron_tui.services import debt

    world = build_world(ctx)
    meter = add_meter(world, "4930000003")
    debt.change_debt(ctx, admin, world.accounts[meter], "added", "15.00", "Arrears", payment_password="AdminPass1")
    viewer = Actor(user_id=admin.user_id, user_code="viewer", source="tui", station_id=None,
                   permissions=frozenset({"basedata.view", "reports.all_stations"}))
    app = StronApp(ctx, actor=viewer)
    async with app.run_test(size=SIZE) as pilot:
        await open_account_debt(app, pilot, meter)
        assert text_of(app, "#debt-position").startswith("Debt 15.00 USD")
        assert "needs the debt right" in text_of(app, "#debt-message")
        assert not app.screen.query_one("#debt-form").display


async def test_debt_balances_import_from_the_account_library_all_or_nothing(ctx, admin, tmp_path):
    from stron_tui.exports.tables import Column, write_xlsx
    from stron_tui.services.debt import DEBT_SHEET

    world = build_world(ctx)
    first = world.accounts[add_meter(world, "4930000004")]
    second = world.accounts[add_meter(world, "4930000005")]
    headers = [Column(spec.header, 16) for spec in DEBT_SHEET.fields]
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    write_xlsx(bad, headers, [(first, "40", "Arrears"), (second, "x1", "Arrears")])
    write_xlsx(good, headers, [(first, "40", "Arrears"), (second, "7.50", "Arrears")])
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "6")
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        assert "Ctrl+T" in str(app.screen.query_one(".hint", Static).render())
        await type_text(pilot, str(bad))
        await pilot.press("enter")
        await settle(app, pilot)
        assert "Nothing was imported: 1 problem" in text_of(app, "#import-result")
        assert rows_of(app, "#import-errors")[0][:2] == ["3", "Debt balance"]
        app.screen.query_one("#import-path").value = ""
        app.screen.query_one("#import-path").focus()
        await type_text(pilot, str(good))
        await pilot.press("enter")
        await settle(app, pilot)
        assert text_of(app, "#import-result") == "Imported 2 row(s): 0 new, 2 changed, 0 unchanged."
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        assert "Template written to" in text_of(app, "#import-result")
    with ctx.db.read_session() as session:
        assert dict(session.execute(select(Account.account_number, Account.debt_balance)).all()) == {
            first: D("40.00"), second: D("7.50")}
