"""Debt Report: per account (with its station and district) the debt at the start of the period, added,
recovered by sales, paid off, written off, and at its end; totals per district and currency."""

from __future__ import annotations

from decimal import Decimal

from stron_tui.services.reports.common import ReportRequest
from stron_tui.services.reports.revenue import DebtRow, debt_rows
from stron_tui.services.reports.spec import Loaded, Report
from stron_tui.services.reports.tables import Column, ReportTable

SUMS = ("opening", "added", "recovered", "paid", "written_off", "closing")

COLUMNS = [
    Column("District", 16), Column("Station", 9), Column("Account", 12), Column("Currency", 8),
    Column("Opening", 13, "money"), Column("Added", 13, "money"), Column("Recovered", 13, "money"),
    Column("Paid", 13, "money"), Column("Written off", 13, "money"), Column("Closing", 13, "money"),
]


def totals_of(rows: list[DebtRow]) -> list[DebtRow]:
    """One row per district and currency, then one per currency ("All districts")."""
    totals: dict[tuple[str, str], dict] = {}
    for row in rows:
        for key in ((row.district_name, row.currency), ("All districts", row.currency)):
            sums = totals.setdefault(key, {name: Decimal(0) for name in SUMS})
            for name in SUMS:
                sums[name] += getattr(row, name)
    ordered = sorted(totals.items(), key=lambda item: (item[0][0] == "All districts", item[0]))
    return [DebtRow("", "", district, currency, **sums) for (district, currency), sums in ordered]


def debt_table(loaded: Loaded) -> ReportTable:
    def values(row: DebtRow, account: str):
        return (row.district_name, row.station_code, account, row.currency, row.opening, row.added,
                row.recovered, row.paid, row.written_off, row.closing)

    return ReportTable("Debt Report", COLUMNS, [values(row, row.account_number) for row in loaded.rows],
                       [values(total, "Total") for total in loaded.totals or []], loaded.filters)


def _load(request: ReportRequest) -> Loaded:
    rows = debt_rows(request)
    return Loaded(rows, totals_of(rows), request.scope.descriptions, result=rows)


def _summary(loaded: Loaded) -> str:
    return "Closing = opening + added - recovered - paid - written off (adjustments and imports by their sign)."


REPORT = Report(
    key="debt", api_name="debt_report",
    title="Debt Report", slug="debt", stem="debt-report",
    description="Debt owed, recovered, written off per account",
    api_summary="Debt Report: per account, station and district: opening, added, recovered, paid, written off, "
                "closing",
    filters=("date_from", "date_to", "district", "station"),
    load=_load, table=debt_table, summary=_summary,
)
