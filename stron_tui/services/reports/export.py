"""Reports to Excel, PDF and CSV files in the export directory, audited as report.export.

Big reports (receipts, silent meters) stream from a server-side cursor
straight into the writer, so memory stays flat at any size; `progress(done,
total)` is called every few thousand rows and may raise ExportCancelled,
which leaves no file behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Callable, Sequence

from stron_tui.db.models import Vend
from stron_tui.errors import ValidationError
from stron_tui.exports.files import ExportCancelled, export_path
from stron_tui.exports.pdf import write_pdf
from stron_tui.exports.tables import write_csv, write_xlsx
from stron_tui.services import audit
from stron_tui.services.clock import local_text, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports import core, tables
from stron_tui.services.reports.scope import ReportFilters, resolve

FORMATS = {"xlsx": "Excel", "pdf": "PDF", "csv": "CSV"}
REPORTS = {
    "receipts": "receipt-report",
    "monthly": "monthly-summary",
    "payments": "customer-payments",
    "transactions": "transaction-numbers",
    "districts": "district-report",
    "non_vending": "non-vending-meters",
    "cashup": "cash-up",
}
STREAM_BATCH = 2000


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    format: str
    title: str


def _write(ctx: AppContext, actor: Actor, table: tables.ReportTable, fmt: str, stem: str, total: int | None,
           progress) -> tuple[Path, int]:
    path = export_path(ctx.settings, stem, fmt, user_id=actor.user_id)
    # Extra totals rows pass through the writer too; the bar counts report rows only.
    report_progress = (lambda done: progress(done if total is None else min(done, total), total)) if progress else None
    try:
        return path, _write_file(ctx, actor, table, fmt, path, report_progress)
    except ExportCancelled:
        # The writers report the last rows after the file is in place: a cancel then removes it.
        path.unlink(missing_ok=True)
        raise


def _write_file(ctx: AppContext, actor: Actor, table: tables.ReportTable, fmt: str, path: Path,
                report_progress) -> int:
    generated = f"{ctx.settings.utility_name}; printed {local_text(utcnow(), ctx.settings.zone)} by {actor.user_code}"
    if fmt == "pdf":
        count = write_pdf(path, table.columns, table.rows, title=table.title,
                          filter_lines=[generated, *table.filters], totals=table.totals,
                          footer_note=f"{table.title}, {generated}", progress=report_progress)
    elif fmt == "xlsx":
        totals = table.totals
        rows = table.rows if len(totals) <= 1 else chain(table.rows, totals[:-1])
        count = write_xlsx(path, table.columns, rows, sheet=table.title[:31],
                           title_lines=[table.title, generated, *table.filters],
                           totals=totals[-1] if totals else None, progress=report_progress)
        count -= max(len(totals) - 1, 0)
    else:
        count = write_csv(path, table.columns, chain(table.rows, table.totals), progress=report_progress)
        count -= len(table.totals)
    return count


def export_report(
    ctx: AppContext,
    actor: Actor,
    report: str,
    fmt: str,
    filters: ReportFilters = ReportFilters(),
    *,
    numbers: Sequence[str] = (),
    station_id: int | None = None,
    by_day: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> ExportResult:
    """Write one report to a file; returns where it is and how many rows it holds."""
    actor.require("reports.view")
    actor.require("reports.export")
    if fmt not in FORMATS:
        raise ValidationError(f"Export as one of {', '.join(FORMATS)}, not {fmt}.", field="format")
    if report not in REPORTS:
        raise ValidationError(f"There is no report named {report}.", field="report")
    stem = REPORTS[report]
    zone = ctx.settings.zone
    if report in ("receipts", "non_vending"):
        with ctx.db.read_session() as session:
            scope = resolve(session, actor, filters)
            if report == "receipts":
                totals = core.sale_totals(session, scope, zone)
                total = sum(t.vend_count for t in totals)
                query = core.receipt_query(scope, zone).order_by(Vend.created_at.desc(), Vend.id.desc())
                result = session.execute(query.execution_options(yield_per=STREAM_BATCH))
                table = tables.ReportTable("Receipt Report", tables.RECEIPT_COLUMNS,
                                           (tables.receipt_line(row, zone) for row in result),
                                           tables.receipt_totals_values(totals), scope.descriptions)
            else:
                day_from, day_to, today = core._silent_period(ctx, filters)
                keys = core.silent_meter_query(scope, day_from, day_to, today=today)
                total = int(session.scalar(core.silent_meter_count_query(scope, day_from, day_to, today=today))
                            or 0)
                result = session.execute(core.silent_meter_details(keys).execution_options(yield_per=STREAM_BATCH))
                table = tables.silent_table((core.silent_meter_row(row) for row in result), total,
                                            scope.descriptions + (f"No sale from {day_from} to {day_to}",))
            path, count = _write(ctx, actor, table, fmt, stem, total, progress)
    else:
        if report == "monthly":
            table = tables.monthly_table(core.monthly_summary(ctx, actor, filters))
        elif report == "payments":
            split = (core.customer_payments(ctx, actor, filters, station_id) if station_id is not None
                     else core.station_payments(ctx, actor, filters))
            table = tables.payments_table(split)
        elif report == "districts":
            table = tables.district_table(core.district_report(ctx, actor, filters))
        elif report == "cashup":
            table = tables.cashup_table(core.cashup(ctx, actor, filters, by_day=by_day))
        else:
            table = tables.transactions_table(core.transactions(ctx, actor, numbers))
        path, count = _write(ctx, actor, table, fmt, stem, len(table.rows), progress)
    with ctx.db.session() as session:
        audit.record(session, actor, "report.export", entity="report", entity_id=report,
                     summary=f"exported {table.title} as {FORMATS[fmt]} ({count} rows) to {path.name}",
                     detail={"report": report, "format": fmt, "rows": count, "path": str(path),
                             "filters": list(table.filters)})
    return ExportResult(path, count, fmt, table.title)
