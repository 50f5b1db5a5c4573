"""A supervisor's details at 80x24: management tokens in the Transaction Number report, reprinted by a key
that works; a sale by an operator without a station says where it is booked, and the cash-up shows it."""

from __future__ import annotations

from sqlalchemy import func, select
from textual.widgets import DataTable, Input, Static

from screens.topup.receipt import ReceiptScreen
from stron_tui.app import StronApp
from stron_tui.db.models import ReceiptPrint, Vend
from stron_tui.services import management, reports
from stron_tui.services.management import ManagementRequest
from stron_tui.services.reports.scope import ReportFilters
from stron_tui.services.vending import new_request_id
from tests.factories import add_meter, build_world
from tests.screens.keyboard import settle

SIZE = (80, 24)


def prints(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count(ReceiptPrint.id)))


async def test_transaction_report_finds_a_token_number_and_f4_reprints_it(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4500000101")
    token = management.issue(ctx, admin, ManagementRequest(meter, "clear_tamper", new_request_id(), "seal broken"),
                             payment_password="AdminPass1")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_entry("reports.transactions")
        await settle(app, pilot)
        screen = app.screen
        field = screen.query_one("#filter-numbers", Input)
        field.focus()
        await pilot.press(*token.transaction_number.lower(), "enter")  # typed in lower case: found all the same
        await settle(app, pilot)
        row = [str(cell) for cell in screen.query_one(DataTable).get_row_at(0)]
        assert row[0] == token.transaction_number and row[1] == token.receipt_number
        assert "Clear tamper" in row
        assert "not found" not in str(screen.query_one("#report-summary", Static).render())
        await pilot.press("ctrl+p")  # the command palette, never a reprint
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert prints(ctx) == 0
        screen.query_one(DataTable).focus()
        assert "f4" in {key for key, b in screen.active_bindings.items() if b.binding.show}
        await pilot.press("f4")
        await settle(app, pilot)
        assert isinstance(app.screen, ReceiptScreen) and app.screen.receipt.reprint
        assert app.screen.receipt.receipt_number == token.receipt_number
    assert prints(ctx) == 1


async def test_a_sale_by_an_operator_without_a_station_says_where_it_is_booked(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4500000102")
    assert admin.station_id is None
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        screen = app.screen
        await pilot.press(*meter, "enter")
        await settle(app, pilot)
        said = str(screen.query_one("#target", Static).render())
        assert f"Booked to {world.station_code} (account's; you have none)" in said
        await pilot.press(*"10", "enter")
        await settle(app, pilot)
        await pilot.press(*"AdminPass1", "enter")
        await settle(app, pilot)
        assert screen.receipt is not None and screen.receipt.station_code == world.station_code
    with ctx.db.read_session() as session:
        vend = session.scalar(select(Vend))
        assert vend.station_id == world.station_id and vend.operator_id == admin.user_id
    report = reports.cashup(ctx, admin, ReportFilters(operator="Admin"), by_day=False)
    assert [(line.operator, line.station, line.item, line.count) for line in report.lines] == [
        ("Admin", world.station_code, "Sales: Cash", 1)]
