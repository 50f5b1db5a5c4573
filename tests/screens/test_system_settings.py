"""Currencies and Payment Types screen: add a rate, edit a currency, add a payment type, withdraw a rate."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from textual.widgets import DataTable, Input, Select, Static

from screens.system.settings import FieldsFormScreen, MoneySettingsScreen
from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry
from stron_tui.services import money_settings as money
from stron_tui.domain.clock import utcnow
from tests.screens.keyboard import enter, settle



def rows(screen, table_id):
    table = screen.query_one(f"#{table_id}", DataTable)
    return [table.get_row_at(i) for i in range(table.row_count)]


def audited(ctx):
    with ctx.db.read_session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_add_a_rate_edit_a_currency_and_add_a_payment_type(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_entry("system.settings")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MoneySettingsScreen)
        await pilot.press("2", "n")
        await settle(app, pilot)
        assert isinstance(app.screen, FieldsFormScreen)
        await enter(pilot, "from_currency", "ngn")
        await enter(pilot, "rate", "1,550")
        await enter(pilot, "effective_at", "")  # empty: from now; Enter on the last field saves
        await settle(app, pilot)
        assert app.screen is screen
        assert rows(screen, "rates") == [["NGN", "USD", "1550", rows(screen, "rates")[0][3], "in effect", "Admin"]]
        await pilot.press("1")
        table = screen.query_one("#currencies", DataTable)
        table.move_cursor(row=[c.code for c in screen._data["currencies"]].index("XOF"))
        await pilot.press("e")
        await settle(app, pilot)
        assert app.screen.query_one("#code", Input).disabled
        await enter(pilot, "name", "CFA franc BCEAO")
        app.screen.query_one("#active", Select).value = False
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert ["XOF", "CFA franc BCEAO", "CFA", "0", "no"] in rows(screen, "currencies")
        await pilot.press("3", "n")
        await settle(app, pilot)
        await enter(pilot, "code", "voucher")
        await enter(pilot, "name", "Prepaid voucher")
        await enter(pilot, "sort_order", "x")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "whole number" in str(app.screen.query_one("#field-sort_order .field-error", Static).render())
        await enter(pilot, "sort_order", "9")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert rows(screen, "payment-types")[-1] == ["voucher", "Prepaid voucher", "9", "yes"]
    assert audited(ctx)[-3:] == ["exchange_rate.create", "currency.update", "payment_type.create"]


async def test_only_pending_rates_can_be_withdrawn(ctx, admin):
    money.add_rate(ctx, admin, from_currency="NGN", to_currency="USD", rate="0.00065")
    money.add_rate(ctx, admin, from_currency="NGN", to_currency="USD", rate="0.0007",
                   effective_at=utcnow() + timedelta(days=2))
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_entry("system.settings")
        await settle(app, pilot)
        screen = app.screen
        await pilot.press("2")
        assert [row[4] for row in rows(screen, "rates")] == ["pending", "in effect"]
        screen.query_one("#rates", DataTable).move_cursor(row=1)
        await pilot.press("delete", "y")
        await settle(app, pilot)
        assert "already in effect" in str(screen.query_one("#settings-message", Static).render())
        screen.query_one("#rates", DataTable).move_cursor(row=0)
        await pilot.press("delete", "y")
        await settle(app, pilot)
        assert [row[4] for row in rows(screen, "rates")] == ["in effect"]
    assert audited(ctx)[-1] == "exchange_rate.withdraw"
