"""Cash control documents as Excel or PDF: a vendor float statement, a shift report.

They take the services' plain results (vendor_floats.Statement, shifts.ShiftReport) and write one table
with a title block and totals, as the report exports do.
"""

from __future__ import annotations

from pathlib import Path

from stron_tui.exports.files import export_path
from stron_tui.exports.pdf import write_pdf
from stron_tui.exports.tables import Column, write_xlsx

STATEMENT_COLUMNS = (Column("Time", 17, "datetime"), Column("Kind", 11), Column("Reference", 14),
                     Column("Amount", 12, "money"), Column("Commission", 11, "money"),
                     Column("Balance after", 13, "money"), Column("Reason", 30))
SHIFT_COLUMNS = (Column("Time", 17, "datetime"), Column("What", 11), Column("Number", 18), Column("Meter", 14),
                 Column("Payment", 9), Column("Paid", 12, "money"), Column("Currency", 8), Column("Detail", 36))


def _write(settings, user_id, stem: str, kind: str, columns, rows, title_lines, totals) -> Path:
    if kind not in ("xlsx", "pdf"):
        raise ValueError(kind)
    path = export_path(settings, stem, kind, user_id=user_id)
    if kind == "xlsx":
        write_xlsx(path, columns, rows, title_lines=title_lines, totals=totals)
    else:
        write_pdf(path, columns, rows, title=title_lines[0], filter_lines=title_lines[1:], totals=[totals])
    return path


def write_statement(settings, statement, kind: str, *, user_id: int | None) -> Path:
    zone = settings.zone
    rows = [[line.when.astimezone(zone).replace(tzinfo=None), line.kind, line.reference, line.amount,
             line.commission, line.balance_after, line.reason] for line in statement.lines]
    title = [f"Vendor statement: {statement.vendor} ({statement.currency})",
             f"Business days {statement.date_from.isoformat()} to {statement.date_to.isoformat()}",
             f"Opening {statement.opening:.2f}; deposits and adjustments {statement.deposits:.2f}; sales "
             f"{statement.sales:.2f}; reversals {statement.reversals:.2f}; commission {statement.commission:.2f}; "
             f"closing {statement.closing:.2f}"]
    totals = ["", "closing", "", statement.deposits + statement.sales + statement.reversals, statement.commission,
              statement.closing, ""]
    stem = f"statement-{statement.vendor}-{statement.date_from.isoformat()}-{statement.date_to.isoformat()}"
    return _write(settings, user_id, stem, kind, STATEMENT_COLUMNS, rows, title, totals)


def write_shift_report(settings, report, kind: str, *, user_id: int | None) -> Path:
    zone = settings.zone
    shift = report.shift

    def local(instant):
        return instant.astimezone(zone).replace(tzinfo=None)

    rows = [[local(s.when), "sale", s.receipt_number, s.meter_number, s.payment_type, s.paid_amount,
             s.paid_currency, "REVERSED" if s.reversed else ""] for s in report.sales]
    for what, events in (("reversal", report.reversals), ("management", report.management_tokens),
                         ("reprint", report.reprints)):
        rows += [[local(e.when), what, e.number, "", "", None, "", e.what] for e in events]
    rows.sort(key=lambda row: row[0])
    title = [f"Shift {shift.number}: {shift.user_code} at {shift.station_code}, {shift.status}",
             f"Opened {local(shift.opened_at):%Y-%m-%d %H:%M}"
             + (f", closed {local(shift.closed_at):%Y-%m-%d %H:%M}" if shift.closed_at else ", still open")
             + (f", signed off by {shift.signed_off_by}: {shift.note}" if shift.signed_off_by else "")]
    title += [f"{line.payment_type} {line.currency}: float {line.opening_float:.2f}, expected {line.expected:.2f}"
              + ("" if line.declared is None else f", declared {line.declared:.2f}, over/short {line.over_short:.2f}")
              for line in shift.lines]
    totals = ["", "sales", str(len(report.sales)), "", "", None, "", f"{len(report.reversals)} reversals"]
    return _write(settings, user_id, f"shift-{shift.number}", kind, SHIFT_COLUMNS, rows, title, totals)
