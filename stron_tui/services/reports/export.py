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
from typing import Any, Callable

from stron_tui.errors import ValidationError
from stron_tui.exports.files import ExportCancelled, export_path
from stron_tui.exports.pdf import write_pdf
from stron_tui.exports.tables import write_csv, write_xlsx
from stron_tui.services import audit
from stron_tui.domain.clock import local_text, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports import tables
from stron_tui.services.reports.common import open_request
from stron_tui.services.reports.registry import report_named
from stron_tui.services.reports.scope import ReportFilters

FORMATS = {"xlsx": "Excel", "pdf": "PDF", "csv": "CSV"}


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
    progress: Callable[[int, int | None], None] | None = None,
    **options: Any,
) -> ExportResult:
    """Write one report (a key of registry.REPORTS) to a file; returns where it is and how many rows it holds.

    `options` are the report's own (Report.options): numbers=, station_id=, by_day=.
    """
    actor.require("reports.view")
    actor.require("reports.export")
    if fmt not in FORMATS:
        raise ValidationError(f"Export as one of {', '.join(FORMATS)}, not {fmt}.", field="format")
    spec = report_named(report)
    options = spec.with_defaults(options)
    if spec.check is not None:
        spec.check(ctx, filters, options)
    with open_request(ctx, actor, filters if spec.filters else None, **options) as request:
        if spec.export is not None:  # a big report streams while the session is open
            table, total = spec.export(request)
        else:
            table = spec.table(spec.load(request))
            total = len(table.rows)
        path, count = _write(ctx, actor, table, fmt, spec.stem, total, progress)
    with ctx.db.session() as session:
        audit.record(session, actor, "report.export", entity="report", entity_id=report,
                     summary=f"exported {table.title} as {FORMATS[fmt]} ({count} rows) to {path.name}",
                     detail={"report": report, "format": fmt, "rows": count, "path": str(path),
                             "filters": list(table.filters)})
    return ExportResult(path, count, fmt, table.title)
