"""The report screens, one per report in the service's registry (opened from screens/registry.py).

A report whose screen needs nothing beyond its declaration gets the plain
ReportScreen (see `__getattr__` below); the classes here add what a report
does beyond that: a chart, a drill-down, a reprint, a switch.
"""

from __future__ import annotations

from decimal import Decimal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from screens.calls import call_service
from screens.reports.base import ReportScreen, Result
from stron_tui.services import reports
from stron_tui.services.reports import ReportFilters
from widgets.bar_chart import BarChart
from widgets.report_filter import FilterField


class ReceiptReportScreen(ReportScreen):
    REPORT = "receipts"


class MonthlySummaryScreen(ReportScreen):
    REPORT = "monthly"

    def extra_widgets(self) -> ComposeResult:
        yield BarChart(id="revenue-chart", bar_width=36)

    def show_extra(self, result: Result) -> None:
        summary = result.extra["loaded"].result
        currencies = sorted({row.currency for row in summary.rows})
        currency = currencies[0] if currencies else ""
        per_month: dict[str, Decimal] = {}
        for row in summary.rows:
            if row.currency == currency:
                per_month[row.label] = per_month.get(row.label, Decimal(0)) + row.gross_amount
        items = [(label, value, f"{value:,}") for label, value in sorted(per_month.items())][-24:]
        note = f" (only {currency} shown)" if len(currencies) > 1 else ""
        self.query_one(BarChart).show(items, f"Revenue per month, {currency}{note}:" if items else "")


class CustomerPaymentScreen(ReportScreen):
    REPORT = "payments"
    BINDINGS = ReportScreen.BINDINGS + [Binding("ctrl+o", "open_row", "Drill down", id="report.open-row"),
                                        Binding("backspace", "up", "Stations", show=False, id="report.up")]

    def __init__(self, **initial):
        super().__init__(**initial)
        self.station_id: int | None = None
        self.rows: list = []

    def load(self, filters, after):
        result = super().load(filters, after)
        self.rows = result.extra["loaded"].rows
        result.summary = ("Enter on a customer lists their receipts; Backspace returns to the stations."
                          if self.station_id is not None else "Enter on a station lists its customers.")
        return result

    def export_options(self) -> dict:
        return {"station_id": self.station_id}

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_row(event.row_key.value)

    def action_open_row(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            self.open_row(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def open_row(self, key: str | None) -> None:
        if key is None or key.startswith("total") or self.last_filters is None:
            return
        row = self.rows[int(key)]
        if self.station_id is None:
            self.station_id = row.key_id
            self._load(self.last_filters, None)
        else:
            filters = self.last_filters
            self.app.push_screen(ReceiptReportScreen(
                customer=row.code, date_from=filters.date_from.isoformat() if filters.date_from else "",
                date_to=filters.date_to.isoformat() if filters.date_to else ""))

    def action_up(self) -> None:
        if self.station_id is not None and self.last_filters is not None:
            self.station_id = None
            self._load(self.last_filters, None)


class TransactionReportScreen(ReportScreen):
    REPORT = "transactions"
    # F4, not Ctrl+P: Ctrl+P is the command palette everywhere.
    BINDINGS = ReportScreen.BINDINGS + [Binding("f4", "reprint", "Reprint", id="report.reprint")]

    def filter_fields(self):
        return [FilterField("numbers", "Transaction numbers, sales (V...) or tokens (M...), spaces between", 70,
                            "V0000000001 M0000000001 ...")]

    def read_filters(self):
        self.numbers = reports.split_numbers(self.query_one("#filter-numbers").value)
        return ReportFilters()

    def load(self, filters, after):
        result = super().load(filters, after)
        self.found = result.extra["loaded"].rows
        return result

    def export_options(self) -> dict:
        return {"numbers": self.numbers}

    def action_reprint(self) -> None:
        from stron_tui.services.receipts import reprint_receipt as reprint

        table = self.query_one(DataTable)
        found = getattr(self, "found", [])
        if not found or not table.row_count:
            self.message("Look up a transaction first, then choose its row.")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None or key.startswith("total"):
            return
        self._reprint(reprint, found[int(key)].receipt_number)

    def _reprint(self, reprint, receipt_number: str) -> None:
        call_service(self, reprint, receipt_number, group="reprint", on_success=self._reprinted,
                     on_error=lambda error: self.message(f"! {error.message}"))

    def _reprinted(self, receipt) -> None:
        from screens.topup.receipt import ReceiptScreen

        self.message(f"Receipt {receipt.receipt_number} reprinted (marked as a reprint).")
        self.app.push_screen(ReceiptScreen(receipt))  # P prints it, S saves it


class CashupScreen(ReportScreen):
    REPORT = "cashup"
    BINDINGS = ReportScreen.BINDINGS + [Binding("ctrl+b", "toggle_days", "By day", id="report.toggle-days")]

    def __init__(self, **initial):
        super().__init__(**initial)
        self.by_day = True

    def load(self, filters, after):
        result = super().load(filters, after)
        mode = "per operator and day" if self.by_day else "per operator over the whole period"
        result.summary = f"Shown {mode}; Ctrl+B switches."
        return result

    def export_options(self) -> dict:
        return {"by_day": self.by_day}

    def action_toggle_days(self) -> None:
        self.by_day = not self.by_day
        self.action_run()


SCREENS: dict[str, type[ReportScreen]] = {
    screen.REPORT: screen
    for screen in (ReceiptReportScreen, MonthlySummaryScreen, CustomerPaymentScreen, TransactionReportScreen,
                   CashupScreen)
}


def screen_for(key: str) -> type[ReportScreen]:
    """The screen class of a report: its own class above, else the plain ReportScreen for it."""
    if key in SCREENS:
        return SCREENS[key]
    report = reports.report_named(key)
    return type(f"ReportScreen_{key}", (ReportScreen,), {"REPORT": report.key, "__module__": __name__})


def __getattr__(name: str):
    """`screens.reports.screens:<report key>`, the target screens/registry.py gives each report."""
    if name in reports.REPORTS:
        return screen_for(name)
    raise AttributeError(name)
