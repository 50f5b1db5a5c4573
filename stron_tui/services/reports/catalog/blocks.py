"""Units per Block: per tariff block and price, the units sold and the money taken for them."""

from __future__ import annotations

from decimal import Decimal

from stron_tui.services.reports.common import ReportRequest
from stron_tui.services.reports.revenue import BlockRow, block_rows
from stron_tui.services.reports.spec import Loaded, Report
from stron_tui.services.reports.tables import Column, ReportTable

COLUMNS = [
    Column("Tariff", 20), Column("Block", 6, "integer"), Column("Price all-in", 12), Column("Currency", 8),
    Column("Sales", 8, "integer"), Column("Units sold", 14, "units"), Column("Amount", 14, "money"),
]


def totals_of(rows: list[BlockRow]) -> list[BlockRow]:
    """Per currency: the units and money of every block (a sale over two blocks counts in each)."""
    totals: dict[str, list] = {}
    for row in rows:
        sums = totals.setdefault(row.currency, [Decimal(0), Decimal(0)])
        sums[0] += row.units
        sums[1] += row.amount
    return [BlockRow("Total", 0, Decimal(0), units, amount, currency, 0)
            for currency, (units, amount) in sorted(totals.items())]


def blocks_table(loaded: Loaded) -> ReportTable:
    def values(row: BlockRow):
        return (row.tariff, row.block, f"{row.price_all_in:f}", row.currency, row.sales, row.units, row.amount)

    def total(row: BlockRow):
        return ("Total", "", "", row.currency, "", row.units, row.amount)

    return ReportTable("Units per Block", COLUMNS, [values(row) for row in loaded.rows],
                       [total(row) for row in loaded.totals or []], loaded.filters)


def _load(request: ReportRequest) -> Loaded:
    rows = block_rows(request)
    return Loaded(rows, totals_of(rows), request.scope.descriptions, result=rows)


REPORT = Report(
    key="blocks", api_name="units_per_block",
    title="Units per Block", slug="units-per-block", stem="units-per-block",
    description="Units and money per tariff block",
    api_summary="Units per Block: per tariff block and all-in price, units sold and amount",
    filters=("date_from", "date_to", "district", "station", "operator", "payment_type", "utility"),
    load=_load, table=blocks_table,
)
