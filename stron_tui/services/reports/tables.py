"""Each report as one table (columns, rows, totals): the screen shows it, the exports write it.

One definition for both, so a spreadsheet always holds what the screen showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from stron_tui.exports.tables import Column
from stron_tui.services.reports.core import (
    Cashup,
    DistrictReport,
    MonthlySummary,
    PaymentSplit,
    ReceiptRow,
    SaleTotals,
    SilentMeterRow,
    TransactionLookup,
    token_text,
)


@dataclass(frozen=True)
class ReportTable:
    title: str
    columns: list[Column]
    rows: Iterable[Sequence[Any]]
    totals: list[Sequence[Any]]
    filters: tuple[str, ...] = ()


RECEIPT_COLUMNS = [
    Column("Time", 17, "datetime"), Column("Receipt", 12), Column("Transaction", 12), Column("District", 12),
    Column("Customer", 18), Column("Meter", 12), Column("Account", 11), Column("Payment", 8),
    Column("Paid", 10, "money"), Column("Cur", 5), Column("Gross", 10, "money"), Column("VAT", 9, "money"),
    Column("Excise", 8, "money"), Column("Net", 10, "money"), Column("Units", 8, "units"),
    Column("Token", 23), Column("Operator", 9), Column("Station", 11),
]


def receipt_values(row: ReceiptRow) -> tuple:
    return (row.created_at, row.receipt_number, row.transaction_number, row.district, row.customer,
            row.meter_number, row.account_number, row.payment_type, row.paid_amount, row.paid_currency,
            row.gross_amount, row.vat_amount, row.excise_amount, row.net_amount, row.units, row.token,
            row.operator, row.station)


def receipt_line(row, zone) -> tuple:
    """receipt_values(receipt_row(row)) without the dataclass: the export path, 100,000 rows at a time."""
    (_, created_at, _, receipt_number, transaction_number, district, _, customer, meter_number, account_number, _,
     payment_type, paid_currency, paid_amount, _, gross, vat, excise, net, units, _, token, operator, station) = row
    return (created_at.astimezone(zone), receipt_number, transaction_number, district, customer, meter_number,
            account_number, payment_type, paid_amount, paid_currency, gross, vat, excise, net, units,
            token_text(token), operator or "(API)", station)


def receipt_totals_values(totals: Sequence[SaleTotals]) -> list[tuple]:
    """A total row per currency pair, each cell under its own column (Cur under Cur); where the sales
    were of different units, the units stay apart: one row per utility under Units."""
    rows: list[tuple] = []
    for t in totals:
        rows.append((f"Total: {t.vend_count:,} sales", None, None, None, None, None, None, None, t.paid_amount,
                     t.paid_currency, t.gross_amount, t.vat_amount, t.excise_amount, t.net_amount, t.units,
                     None, None, None))
        if t.units is None:
            rows += [(f"Total {utility} ({unit})", None, None, None, None, None, None, None, None, None, None, None,
                      None, None, units, None, None, None) for utility, unit, units in t.units_by_utility]
    return rows


def receipts_table(rows: Iterable[ReceiptRow], totals: Sequence[SaleTotals], filters=()) -> ReportTable:
    return ReportTable("Receipt Report", RECEIPT_COLUMNS, (receipt_values(r) for r in rows),
                       receipt_totals_values(totals), tuple(filters))


MONTHLY_COLUMNS = [
    Column("Month", 9), Column("Utility", 11), Column("Currency", 8), Column("Sales", 9, "integer"),
    Column("Total paid", 14, "money"), Column("VAT", 12, "money"), Column("Excise duty", 12, "money"),
    Column("Charge value", 14, "money"), Column("Units sold", 14, "units"),
]


def monthly_table(report: MonthlySummary) -> ReportTable:
    def values(row, label):
        return (label, row.utility, row.currency, row.vend_count, row.gross_amount, row.vat_amount,
                row.excise_amount, row.net_amount, row.units)

    return ReportTable("Monthly Summary Report", MONTHLY_COLUMNS, [values(r, r.label) for r in report.rows],
                       [values(t, "Total") for t in report.totals], report.filters)


def payments_table(report: PaymentSplit) -> ReportTable:
    drill = report.station is not None
    columns = [Column("Code", 10), Column("Customer" if drill else "Station", 20), Column("Currency", 8),
               Column("Sales", 8, "integer"), Column("Total charges", 14, "money")]
    columns += [Column(name, 12, "money") for _, name in report.payment_types]

    def values(row):
        return (row.code, row.name, row.currency, row.vend_count, row.gross_amount,
                *[row.amount_for(code) for code, _ in report.payment_types])

    title = "Customer Payment Report" + (f": {report.station[1]} {report.station[2]}" if drill else "")
    totals = [("Total", "", t.currency, t.vend_count, t.gross_amount,
               *[t.amount_for(code) for code, _ in report.payment_types]) for t in report.totals]
    return ReportTable(title, columns, [values(r) for r in report.rows], totals, report.filters)


DISTRICT_COLUMNS = [
    Column("District", 9), Column("District name", 16), Column("Station", 9), Column("Station name", 16),
    Column("Currency", 8), Column("Charges", 9, "integer"), Column("Cash", 13, "money"),
    Column("Cheque", 13, "money"), Column("E-card", 13, "money"), Column("Other", 13, "money"),
    Column("Total revenue", 14, "money"),
]


def district_table(report: DistrictReport) -> ReportTable:
    def values(row):
        return (row.district_code, row.district, row.station_code, row.station, row.currency, row.vend_count,
                row.cash, row.cheque, row.e_card, row.other, row.total)

    return ReportTable("District Report", DISTRICT_COLUMNS, [values(r) for r in report.rows],
                       [values(t) for t in report.totals], report.filters)


SILENT_COLUMNS = [
    Column("Meter", 13), Column("Utility", 10), Column("Status", 8), Column("Customer code", 12),
    Column("Customer", 20), Column("Account", 13), Column("District", 14), Column("Station", 14),
    Column("Last sale", 11, "date"),
]


def silent_values(row: SilentMeterRow) -> tuple:
    return (row.meter_number, row.utility, row.status, row.customer_code, row.customer, row.account_number,
            row.district, row.station, row.last_vend_date if row.last_vend_date else "never")


def silent_table(rows: Iterable[SilentMeterRow], count: int, filters=()) -> ReportTable:
    return ReportTable("Non-Vending Meter Report", SILENT_COLUMNS, (silent_values(r) for r in rows),
                       [(f"Total: {count:,} meters", *([None] * 8))], tuple(filters))


CASHUP_COLUMNS = [
    Column("Operator", 12), Column("Date", 11, "date"), Column("Item", 24), Column("Currency", 8),
    Column("Count", 9, "integer"), Column("Amount", 14, "money"), Column("Station", 8),
]


def cashup_table(report: Cashup) -> ReportTable:
    def values(line):
        return (line.operator, line.business_date, line.item, line.currency, line.count, line.amount, line.station)

    return ReportTable("Cash-up Report", CASHUP_COLUMNS, [values(l) for l in report.lines],
                       [values(t) for t in report.totals], report.filters)


TRANSACTION_COLUMNS = [
    Column("Transaction", 12), Column("Receipt", 12), Column("Time", 17, "datetime"), Column("Customer", 16),
    Column("Meter", 12), Column("Account", 11), Column("Station", 11), Column("Operator", 9),
    Column("Payment", 8), Column("Paid", 10, "money"), Column("Cur", 5), Column("Gross", 10, "money"),
    Column("VAT", 9, "money"), Column("Excise", 8, "money"), Column("Units", 8, "units"), Column("Token", 23),
    Column("Reprints", 6, "integer"),
]


def transactions_table(lookup: TransactionLookup) -> ReportTable:
    rows = [(t.transaction_number, t.receipt_number, t.created_at, f"{t.customer_code} {t.customer}",
             t.meter_number, t.account_number, t.station, t.operator, t.payment_type, t.paid_amount,
             t.paid_currency, t.gross_amount, t.vat_amount, t.excise_amount, t.units, t.token, t.reprints)
            for t in lookup.found]
    notes = (f"Not found: {', '.join(lookup.missing)}",) if lookup.missing else ()
    return ReportTable("Transaction Number Report", TRANSACTION_COLUMNS, rows, [], notes)
