"""Revenue by Part: per month and currency, what was paid split as the order of deductions splits it.

gross = debt recovered + fixed charges + energy (services/pricing.py); VAT and
excise are inside the energy and the fixed charges; free units are given, and
their subsidy (units x the first block's price) is what they are worth.
"""

from __future__ import annotations

from decimal import Decimal

from stron_tui.services.reports.common import ReportRequest
from stron_tui.services.reports.revenue import RevenueMonthRow, revenue_rows
from stron_tui.services.reports.spec import Loaded, Report
from stron_tui.services.reports.tables import Column, ReportTable

PARTS = ("sales", "gross", "debt_recovered", "fixed_charges", "energy", "vat", "excise", "free_units", "subsidy")

COLUMNS = [
    Column("Month", 9), Column("Currency", 8), Column("Sales", 8, "integer"), Column("Total paid", 14, "money"),
    Column("Debt recovered", 14, "money"), Column("Fixed charges", 14, "money"), Column("Energy", 14, "money"),
    Column("VAT", 12, "money"), Column("Excise", 12, "money"), Column("Free units", 12, "units"),
    Column("Subsidy", 12, "money"),
]


def totals_of(rows: list[RevenueMonthRow]) -> list[RevenueMonthRow]:
    """One total row per currency (month 0)."""
    totals: dict[str, dict] = {}
    for row in rows:
        sums = totals.setdefault(row.currency, {name: Decimal(0) for name in PARTS} | {"sales": 0})
        for name in PARTS:
            sums[name] += getattr(row, name)
    return [RevenueMonthRow(0, 0, currency, **sums) for currency, sums in sorted(totals.items())]


def parts_table(loaded: Loaded) -> ReportTable:
    def values(row: RevenueMonthRow, label: str):
        return (label, row.currency, row.sales, row.gross, row.debt_recovered, row.fixed_charges, row.energy,
                row.vat, row.excise, row.free_units, row.subsidy)

    return ReportTable("Revenue by Part", COLUMNS, [values(row, row.label) for row in loaded.rows],
                       [values(total, "Total") for total in loaded.totals or []], loaded.filters)


def _load(request: ReportRequest) -> Loaded:
    rows = revenue_rows(request)
    return Loaded(rows, totals_of(rows), request.scope.descriptions, result=rows)


def _summary(loaded: Loaded) -> str:
    return "Total paid = debt recovered + fixed charges + energy; VAT and excise are inside the last two."


REPORT = Report(
    key="revenue_parts", api_name="revenue_by_part",
    title="Revenue by Part", slug="revenue-by-part", stem="revenue-by-part",
    description="Debt, fixed charges, energy, VAT, free units",
    api_summary="Revenue by Part: per month, debt recovered, fixed charges, energy, VAT, excise, free units, subsidy",
    filters=("date_from", "date_to", "district", "station", "operator", "payment_type", "utility"),
    load=_load, table=parts_table, summary=_summary,
    api_item=lambda row, values: values | {"month_label": row.label},
)
