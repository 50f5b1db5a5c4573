"""Report screens driven by keys: filters, totals, paging, drill-down, chart, export with the path shown."""

from __future__ import annotations


from textual.widgets import DataTable, Input, Static

from stron_tui.app import StronApp
from tests.services.test_reports import build_sales
from tests.screens.keyboard import settle


def cells(screen, row_index):
    table = screen.query_one(DataTable)
    return [str(cell) for cell in table.get_row_at(row_index)]


def text(screen, selector):
    return str(screen.query_one(selector, Static).render())


async def open_report(app, pilot, key):
    app.open_entry(key)
    await settle(app, pilot)
    return app.screen


async def run_with(app, pilot, screen, **values):
    for name, value in values.items():
        screen.query_one(f"#filter-{name}", Input).value = value
    screen.query_one(f"#filter-{next(iter(values))}" if values else "Input", Input).focus()
    await pilot.press("enter")
    await settle(app, pilot)


async def test_receipt_report_filters_totals_and_pages(ctx, admin):
    sales = build_sales(ctx, admin)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_report(app, pilot, "reports.receipts")
        await run_with(app, pilot, screen, station="S1", payment_type="cash")
        table = screen.query_one(DataTable)
        assert table.row_count == 4  # three sales and the totals line
        assert cells(screen, 0)[2] == "T6" and cells(screen, 3)[0] == "Total: 3 sales"
        assert cells(screen, 3)[10] == "170.00"
        assert "Totals: 3 sales: 170.00 USD" in text(screen, "#report-summary")
        await run_with(app, pilot, screen, station="S9", payment_type="")
        assert "no sales station with code S9" in text(screen, "#filter-error")
        # Paging: 50 per page is more than six, so shrink the page through the service's limit.
        await run_with(app, pilot, screen, station="")
        # six sales, two currency pairs; the USD pair sold kWh and m3, so its units stay on two more lines
        assert screen.query_one(DataTable).row_count == 6 + 2 + 2
        assert [cells(screen, row)[0] for row in range(8, 10)] == ["Total electricity (kWh)", "Total water (m3)"]
        assert [cells(screen, row)[14] for row in range(8, 10)] == ["440.0", "15.0"]
        assert "440.0 kWh electricity, 15.0 m3 water" in text(screen, "#report-summary")
        assert "Page 1 of 1 (6 rows), last page" in text(screen, "#report-message")
    assert sales


async def test_monthly_summary_shows_a_revenue_chart(ctx, admin):
    build_sales(ctx, admin)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_report(app, pilot, "reports.monthly")
        await run_with(app, pilot, screen, date_from="2024-01-01")
        assert cells(screen, 0)[:6] == ["2024-01", "electricity", "USD", "2", "0", "150.00"]  # 0 reversed
        chart = text(screen, "#revenue-chart")
        assert "Revenue per month, USD:" in chart
        assert "2024-01 150.00 " in chart and "2024-02  80.00 " in chart and "█" in chart


async def test_customer_payments_drill_down_to_a_customers_receipts(ctx, admin):
    build_sales(ctx, admin)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_report(app, pilot, "reports.payments")
        await run_with(app, pilot, screen, date_from="2024-01-01")
        assert cells(screen, 0)[:6] == ["S1", "Market Hall", "USD", "4", "0", "220.00"]  # 0 reversed
        table = screen.query_one(DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        assert [cells(screen, i)[0] for i in range(2)] == ["C1", "C2"]
        table.move_cursor(row=1)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        receipts = app.screen
        assert receipts.query_one("#filter-customer", Input).value == "C2"
        assert [cells(receipts, i)[2] for i in range(2)] == ["T6", "T2"]


async def test_station_limited_operator_sees_only_their_station(ctx, admin):
    sales = build_sales(ctx, admin)
    from dataclasses import replace

    app = StronApp(ctx, actor=replace(sales.cashier2, must_change_password=False))
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_report(app, pilot, "reports.districts")
        await run_with(app, pilot, screen, station="S1")
        assert cells(screen, 0)[:6] == ["D2", "South", "S2", "Harbour", "USD", "2"]
        assert "(your station only)" in text(screen, "#report-message")
        await pilot.press("f7")
        await settle(app, pilot)
        assert "may not export reports" in text(screen, "#report-message")


async def test_export_from_a_screen_shows_the_path(ctx, admin):
    build_sales(ctx, admin)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_report(app, pilot, "reports.cashup")
        await run_with(app, pilot, screen, date_from="2024-02-15", date_to="2024-02-16")
        assert cells(screen, 0)[:6] == ["cashier1", "2024-02-15", "Sales: Cash", "USD", "1", "20.00"]
        await pilot.press("f7")
        await settle(app, pilot)
        message = text(screen, "#report-message")
        assert message.startswith("Exported 4 rows to ") and message.endswith(".xlsx")
        from pathlib import Path

        assert Path(message.split(" to ", 1)[1]).exists()


async def test_transaction_lookup_and_silent_meters(ctx, admin):
    build_sales(ctx, admin)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_report(app, pilot, "reports.transactions")
        await run_with(app, pilot, screen, numbers="T3 T99")
        assert cells(screen, 0)[:2] == ["T3", "S2-00000003"]
        assert "not found: T99" in text(screen, "#report-summary")
        await pilot.press("escape")
        screen = await open_report(app, pilot, "reports.non_vending")
        await run_with(app, pilot, screen, date_from="2024-03-01", date_to="2024-03-31")
        assert [cells(screen, i)[0] for i in range(4)] == ["01000000001", "01000000003", "01000000004",
                                                           "01000000005"]
        assert "4 meters with no sale" in text(screen, "#report-summary")
