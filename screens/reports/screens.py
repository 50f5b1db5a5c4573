"""The seven report screens (each opened from screens/registry.py without arguments)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from screens.reports.base import COMMON_FIELDS, ReportScreen, Result, date_field
from stron_tui.money import money_text
from stron_tui.services import reports
from stron_tui.services.clock import utcnow
from stron_tui.services.reports import ReportFilters, tables
from widgets.bar_chart import BarChart
from widgets.report_filter import FilterField


def _fields(*names: str) -> list[FilterField]:
    return [COMMON_FIELDS[name] for name in names]


def _money_summary(totals) -> str:
    parts = []
    for t in totals:
        paid = f" (paid {money_text(t.paid_amount, t.paid_currency)})" if t.paid_currency != t.currency else ""
        units = ", ".join(f"{units:,} {unit} {utility}" for utility, unit, units in t.units_by_utility)
        parts.append(f"{t.vend_count:,} sales: {money_text(t.gross_amount, t.currency)}{paid}, "
                     f"VAT {money_text(t.vat_amount)}, excise {money_text(t.excise_amount)}, "
                     f"net {money_text(t.net_amount)}; {units}")
    return "Totals: " + " | ".join(parts) if parts else "Totals: no sales"


class ReceiptReportScreen(ReportScreen):
    TITLE_TEXT = "Receipt Report"
    REPORT_KEY = "receipts"
    PAGED = True

    def filter_fields(self):
        return [date_field("date_from", "From"), date_field("date_to", "To"),
                *_fields("district", "station", "operator", "payment_type", "utility", "meter_number", "customer")]

    def load(self, filters, after):
        ctx, actor = self.app.ctx, self.app.actor
        page = reports.receipts(ctx, actor, filters, after=after)
        totals = reports.receipt_totals(ctx, actor, filters) if after is None else self._totals
        self._totals = totals
        table = tables.receipts_table(page.rows, totals, page.filters)
        return Result(table, page.next_key, _money_summary(totals))


class MonthlySummaryScreen(ReportScreen):
    TITLE_TEXT = "Monthly Summary Report"
    REPORT_KEY = "monthly"

    def filter_fields(self):
        return [date_field("date_from", "From"), date_field("date_to", "To"),
                *_fields("district", "station", "operator", "payment_type", "utility")]

    def extra_widgets(self) -> ComposeResult:
        yield BarChart(id="revenue-chart", bar_width=36)

    def load(self, filters, after):
        summary = reports.monthly_summary(self.app.ctx, self.app.actor, filters)
        return Result(tables.monthly_table(summary), extra={"summary": summary})

    def show_extra(self, result: Result) -> None:
        summary = result.extra["summary"]
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
    TITLE_TEXT = "Customer Payment Report"
    REPORT_KEY = "payments"
    BINDINGS = ReportScreen.BINDINGS + [Binding("ctrl+o", "open_row", "Drill down", id="report.open-row"),
                                        Binding("backspace", "up", "Stations", show=False, id="report.up")]

    def __init__(self, **initial):
        super().__init__(**initial)
        self.station_id: int | None = None
        self.rows: list = []

    def filter_fields(self):
        return [date_field("date_from", "From"), date_field("date_to", "To"),
                *_fields("district", "station", "operator", "payment_type", "utility")]

    def load(self, filters, after):
        ctx, actor = self.app.ctx, self.app.actor
        split = (reports.customer_payments(ctx, actor, filters, self.station_id) if self.station_id is not None
                 else reports.station_payments(ctx, actor, filters))
        self.rows = split.rows
        hint = ("Enter on a customer lists their receipts; Backspace returns to the stations."
                if self.station_id is not None else "Enter on a station lists its customers.")
        return Result(tables.payments_table(split), summary=hint)

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
    TITLE_TEXT = "Transaction Number Report"
    REPORT_KEY = "transactions"
    # F4, not Ctrl+P: Ctrl+P is the command palette everywhere.
    BINDINGS = ReportScreen.BINDINGS + [Binding("f4", "reprint", "Reprint", id="report.reprint")]

    def filter_fields(self):
        return [FilterField("numbers", "Transaction numbers, sales (V...) or tokens (M...), spaces between", 70,
                            "V0000000001 M0000000001 ...")]

    def read_filters(self):
        self.numbers = reports.split_numbers(self.query_one("#filter-numbers").value)
        return ReportFilters()

    def load(self, filters, after):
        lookup = reports.transactions(self.app.ctx, self.app.actor, self.numbers)
        self.found = lookup.found
        summary = f"{len(lookup.found)} found" + (f"; not found: {', '.join(lookup.missing)}" if lookup.missing else "")
        return Result(tables.transactions_table(lookup), summary=summary)

    def export_options(self) -> dict:
        return {"numbers": self.numbers}

    def action_reprint(self) -> None:
        reprint = _reprint_service()
        if reprint is None:
            self.message("Reprint is not available yet in this version.")
            return
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
        from stron_tui.errors import StronError

        from screens.topup.receipt import ReceiptScreen

        try:
            receipt = reprint(self.app.ctx, self.app.actor, receipt_number)
        except StronError as error:
            self.message(f"! {error.message}")
            return
        self.message(f"Receipt {receipt_number} reprinted (marked as a reprint).")
        self.app.push_screen(ReceiptScreen(receipt))  # P prints it, S saves it


def _reprint_service():
    """The vending engineer's reprint service, wherever it lives in this version."""
    try:
        from stron_tui.services.vending import reprint_receipt
    except ImportError:
        try:
            from stron_tui.services.receipts import reprint_receipt
        except ImportError:
            return None
    return reprint_receipt


class DistrictReportScreen(ReportScreen):
    TITLE_TEXT = "District Report"
    REPORT_KEY = "districts"

    def filter_fields(self):
        return [date_field("date_from", "From"), date_field("date_to", "To"),
                *_fields("district", "station", "operator", "utility")]

    def load(self, filters, after):
        return Result(tables.district_table(reports.district_report(self.app.ctx, self.app.actor, filters)))


class NonVendingMeterScreen(ReportScreen):
    TITLE_TEXT = "Non-Vending Meter Report"
    REPORT_KEY = "non_vending"
    PAGED = True

    def filter_fields(self):
        today = utcnow().astimezone(self.app.ctx.settings.zone).date()
        return [date_field("date_from", "No sale from", today - timedelta(days=90)),
                date_field("date_to", "To", today), *_fields("district", "station", "utility", "customer")]

    def load(self, filters, after):
        ctx, actor = self.app.ctx, self.app.actor
        page = reports.silent_meters(ctx, actor, filters, after=after)
        if after is None:
            self._count = reports.silent_meter_count(ctx, actor, filters)
        table = tables.silent_table(page.rows, self._count, page.filters)
        return Result(table, page.next_key, f"{self._count:,} meters with no sale in the period")


class CashupScreen(ReportScreen):
    TITLE_TEXT = "Cash-up Report"
    REPORT_KEY = "cashup"
    BINDINGS = ReportScreen.BINDINGS + [Binding("ctrl+b", "toggle_days", "By day", id="report.toggle-days")]

    def __init__(self, **initial):
        super().__init__(**initial)
        self.by_day = True

    def filter_fields(self):
        today = utcnow().astimezone(self.app.ctx.settings.zone).date()
        return [date_field("date_from", "From", today), date_field("date_to", "To", today),
                *_fields("station", "operator", "district")]

    def load(self, filters, after):
        report = reports.cashup(self.app.ctx, self.app.actor, filters, by_day=self.by_day)
        mode = "per operator and day" if self.by_day else "per operator over the whole period"
        return Result(tables.cashup_table(report), summary=f"Shown {mode}; Ctrl+B switches.")

    def export_options(self) -> dict:
        return {"by_day": self.by_day}

    def action_toggle_days(self) -> None:
        self.by_day = not self.by_day
        self.action_run()
