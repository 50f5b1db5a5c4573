"""One screen for every report in the service's registry: the filter bar, a table with totals, paging, export.

`ReportScreen.REPORT` names a report (stron_tui.services.reports.REPORTS); its
declaration gives the title, the filter fields, the paging, the table and the
line of totals. A subclass only adds what one report does beyond that (a
chart, a drill-down, a switch), overriding `load(filters, after)` (runs in a
thread worker) or `show_extra`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, ProgressBar, Static

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.errors import StronError, ValidationError
from stron_tui.exports.files import ExportCancelled
from stron_tui.exports.pdf import NUMERIC_KINDS, cell_text
from stron_tui.services import reports
from stron_tui.domain.clock import utcnow
from stron_tui.services.reports import Loaded, Report, ReportFilters, ReportTable
from stron_tui.services.reports.common import PAGE_SIZE
from widgets.cells import plain_cell
from widgets.report_filter import FilterField, ReportFilterBar

DATE_HINT = "YYYY-MM-DD"


@dataclass
class Result:
    table: ReportTable
    next_key: Any = None
    summary: str = ""
    extra: dict = field(default_factory=dict)
    row_count: int | None = None  # every page's rows, when the report knows it


def date_field(name: str, label: str, value: date | None = None) -> FilterField:
    return FilterField(name, label, 12, DATE_HINT, value.isoformat() if value else "")


COMMON_FIELDS = {
    "district": FilterField("district", "District", 9, "code"),
    "station": FilterField("station", "Station", 9, "code"),
    "operator": FilterField("operator", "Operator", 10, "user ID"),
    "payment_type": FilterField("payment_type", "Payment", 9, "cash..."),
    "utility": FilterField("utility", "Utility", 12, "electricity"),
    "meter_number": FilterField("meter_number", "Meter", 13, "number"),
    "customer": FilterField("customer", "Customer", 10, "code"),
}


def report_fields(report: Report, today: date) -> list[FilterField]:
    """The filter bar a report declares, its period filled in when it has a default one."""
    fields = []
    for name in report.filters:
        if name in ("date_from", "date_to"):
            days = report.default_days[0 if name == "date_from" else 1] if report.default_days else None
            label = report.date_from_label if name == "date_from" else "To"
            fields.append(date_field(name, label, today - timedelta(days=days) if days is not None else None))
        else:
            fields.append(COMMON_FIELDS[name])
    return fields


class ReportScreen(StronScreen):
    REPORT = ""  # a key of stron_tui.services.reports.REPORTS
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("ctrl+r", "run", "Run", id="report.run"),
        Binding("pagedown", "next_page", "Next page", id="report.next-page"),
        Binding("pageup", "previous_page", "Prev page", id="report.previous-page"),
        Binding("f7", "export('xlsx')", "Excel", id="report.export-xlsx"),
        Binding("f8", "export('pdf')", "PDF", id="report.export-pdf"),
        Binding("f9", "export('csv')", "CSV", id="report.export-csv"),
    ]
    DEFAULT_CSS = """
    ReportScreen #report-table { height: 1fr; }
    ReportScreen #report-summary { height: auto; padding: 0 1; text-style: bold; }
    ReportScreen #report-message { height: auto; padding: 0 1; }
    ReportScreen #export-progress { height: 1; padding: 0 1; }
    ReportScreen #export-progress.-idle { display: none; }
    """

    def __init__(self, **initial: str):
        super().__init__()
        self.report: Report = reports.report_named(self.REPORT)
        self.TITLE_TEXT = self.report.title
        self.paged = self.report.paging == "keyset"
        self.first_page: Loaded | None = None  # carries the totals to later pages
        self.initial = initial
        self.page_keys: list[Any] = [None]  # the `after` key of each page shown so far
        self.next_key: Any = None
        self.cancel_export = threading.Event()
        self.exporting = False
        self.last_filters: ReportFilters | None = None

    # --- what a report says about itself -------------------------------------------

    def filter_fields(self) -> list[FilterField]:
        return report_fields(self.report, utcnow().astimezone(self.app.ctx.settings.zone).date())

    def load(self, filters: ReportFilters, after: Any) -> Result:
        loaded = reports.run_report(self.app.ctx, self.app.actor, self.REPORT, filters, after=after,
                                    carried=self.first_page, **self.export_options())
        if after is None:
            self.first_page = loaded
        summary = self.report.summary(loaded) if self.report.summary else ""
        return Result(self.report.table(loaded), loaded.next_key, summary, extra={"loaded": loaded},
                      row_count=loaded.row_count)

    def export_options(self) -> dict:
        """The report's own options (Report.options) as the screen holds them now."""
        return {}

    def extra_widgets(self) -> ComposeResult:
        yield from ()

    def show_extra(self, result: Result) -> None:
        """Called on the UI thread after a load (charts and the like)."""

    # --- layout ------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        fields = [FilterField(f.name, f.label, f.width, f.placeholder, self.initial.get(f.name, f.value))
                  for f in self.filter_fields()]
        yield ReportFilterBar(fields, id="report-filters")
        yield Static("Enter or Ctrl+R runs the report.", id="report-message", markup=False)
        yield DataTable(id="report-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="report-summary", markup=False)
        yield from self.extra_widgets()
        yield ProgressBar(id="export-progress", classes="-idle", show_eta=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ReportFilterBar).focus_first()
        if self.initial:
            self.action_run()

    # --- running -----------------------------------------------------------------------

    def read_filters(self) -> ReportFilters:
        values = self.query_one(ReportFilterBar).values()
        dates = {name: reports.parse_date(values.pop(name), name) for name in ("date_from", "date_to")
                 if name in values}
        known = {name: value for name, value in values.items() if name in ReportFilters.__dataclass_fields__}
        return ReportFilters(**known, **dates)

    def message(self, text: str) -> None:
        self.query_one("#report-message", Static).update(text)

    @on(ReportFilterBar.Submitted)
    def action_run(self) -> None:
        bar = self.query_one(ReportFilterBar)
        try:
            filters = self.read_filters()
        except ValidationError as error:
            bar.show_error(error.field, error.message)
            return
        bar.show_error(None, None)
        self.last_filters = filters
        self.page_keys = [None]
        self.message("Working...")
        self._load(filters, None)

    def action_next_page(self) -> None:
        if self.paged and self.next_key is not None and self.last_filters is not None:
            self.page_keys.append(self.next_key)
            self._load(self.last_filters, self.next_key)

    def action_previous_page(self) -> None:
        if self.paged and len(self.page_keys) > 1 and self.last_filters is not None:
            self.page_keys.pop()
            self._load(self.last_filters, self.page_keys[-1])

    def _load(self, filters: ReportFilters, after: Any) -> None:
        call_service(self, self.load, filters, after, with_actor=False, group="report", on_success=self._show,
                     on_error=self._failed)

    def _failed(self, error: StronError) -> None:
        if isinstance(error, ValidationError) and error.field:
            self.query_one(ReportFilterBar).show_error(error.field, error.message)
            self.message("")
        else:
            self.message(f"! {error.message}")

    def _show(self, result: Result) -> None:
        self.next_key = result.next_key
        table = self.query_one("#report-table", DataTable)
        table.clear(columns=True)
        kinds = [column.kind for column in result.table.columns]

        def cells(values):
            return [plain_cell(cell_text(value, kind), justify="right" if kind in NUMERIC_KINDS else None)
                    for value, kind in zip(values, kinds)]

        rows = list(result.table.rows)
        row_cells = [cells(values) for values in rows]
        total_cells = [[Text(cell.plain, style="bold", justify=cell.justify) for cell in cells(values)]
                       for values in result.table.totals]
        for index, column in enumerate(result.table.columns):
            table.add_column(column.title, width=fitted_width(column.title, column.width,
                                                              (line[index] for line in row_cells + total_cells)))
        for index, line in enumerate(row_cells):
            table.add_row(*line, key=str(index))
        for index, line in enumerate(total_cells):
            table.add_row(*line, key=f"total-{index}")
        self.result_rows = rows
        page = len(self.page_keys)
        paging = ""
        if self.paged:
            count = result.row_count
            pages = f" of {max(1, -(-count // PAGE_SIZE)):,} ({count:,} rows)" if count is not None else ""
            paging = f"Page {page}{pages}" + (", PgDn for more" if self.next_key is not None else ", last page")
            paging += ", PgUp goes back. " if page > 1 else ". "
        filters = "; ".join(result.table.filters)
        self.message(f"{paging}{len(rows)} rows shown. {filters}".strip() if rows else
                     f"Nothing matches these filters. {filters}".strip())
        self.query_one("#report-summary", Static).update(result.summary)
        self.show_extra(result)

    # --- exporting ----------------------------------------------------------------------

    def action_back(self) -> None:
        if self.exporting:
            self.cancel_export.set()
            self.message("Cancelling the export...")
            return
        super().action_back()

    def action_export(self, fmt: str) -> None:
        if self.exporting:
            return
        if not self.app.actor.can("reports.export"):
            self.message(f"! {self.app.actor.user_code} may not export reports.")
            return
        try:
            filters = self.read_filters()
        except ValidationError as error:
            self.query_one(ReportFilterBar).show_error(error.field, error.message)
            return
        self.exporting = True
        self.cancel_export.clear()
        bar = self.query_one("#export-progress", ProgressBar)
        bar.remove_class("-idle")
        bar.update(total=None, progress=0)
        self.message(f"Exporting to {reports.FORMATS[fmt]}... Esc cancels.")
        self._export(fmt, filters)

    @work(thread=True, exclusive=True, group="export")
    def _export(self, fmt: str, filters: ReportFilters) -> None:
        def progress(done: int, total: int | None) -> None:
            if self.cancel_export.is_set():
                raise ExportCancelled("Export cancelled; no file was written.")
            self.app.call_from_thread(self._progress, done, total)

        try:
            result = reports.export_report(self.app.ctx, self.app.actor, self.REPORT, fmt, filters,
                                           progress=progress, **self.export_options())
        except StronError as error:
            self.app.call_from_thread(self._export_done, f"! {error.message}")
            return
        where = self.app.where_saved([result.path])
        self.app.call_from_thread(self._export_done, f"Exported {result.rows:,} rows to {where}")

    def _progress(self, done: int, total: int | None) -> None:
        self.query_one("#export-progress", ProgressBar).update(total=total or None, progress=done)

    def _export_done(self, text: str) -> None:
        self.exporting = False
        self.query_one("#export-progress", ProgressBar).add_class("-idle")
        self.message(text)


def fitted_width(title: str, planned: int, cells) -> int:
    """A column as wide as its widest value on this page: a cut value could read like another one
    (two receipt numbers, two times in the same minute); the table scrolls sideways instead."""
    return max([len(title), planned, *(cell.cell_len for cell in cells)])


def days_ago(days: int) -> date:
    return (utcnow() - timedelta(days=days)).date()
