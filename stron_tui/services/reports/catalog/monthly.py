"""2. Monthly Summary Report: sales, paid, VAT, excise, charge value and units per month and utility.

Amounts are net of reversals (a reversal counts in the month it was recorded, and its count shows)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, extract, select

from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.common import Money, ReportRequest, conditions, open_request, round_units, source_of
from stron_tui.services.reports.scope import ReportFilters, Scope
from stron_tui.services.reports.spec import Loaded, Report
from stron_tui.services.reports.tables import Column, ReportTable

@dataclass(frozen=True)
class MonthRow:
    year: int
    month: int
    utility: str
    currency: str
    vend_count: int
    reversal_count: int  # reversals recorded in the month; the amounts are net of them
    gross_amount: Decimal  # total paid, tariff currency
    vat_amount: Decimal
    excise_amount: Decimal
    net_amount: Decimal  # charge value
    units: Decimal

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class MonthlySummary:
    rows: list[MonthRow]
    totals: list[MonthRow]  # per utility and currency, year = month = 0
    filters: tuple[str, ...]


def monthly_query(scope: Scope) -> Select:
    source = source_of(scope)
    year = extract("year", source.business_date)
    month = extract("month", source.business_date)
    return (
        select(year.label("year"), month.label("month"), source.utility, source.currency, source.count,
               source.reversals, source.gross, source.vat, source.excise, source.net, source.units)
        .where(*conditions(source, scope))
        .group_by(year, month, source.utility, source.currency)
        .order_by(year, month, source.utility, source.currency)
    )


def monthly_summary(ctx: AppContext, actor: Actor, filters: ReportFilters) -> MonthlySummary:
    with open_request(ctx, actor, filters) as request:
        return summarize_months(request)


def summarize_months(request: ReportRequest) -> MonthlySummary:
    session, scope = request.session, request.scope
    money = Money(session)
    rows = [
        MonthRow(int(r[0]), int(r[1]), r[2], r[3], int(r[4]), int(r[5] or 0), money(r[6], r[3]),
                 money(r[7], r[3]), money(r[8], r[3]), money(r[9], r[3]), round_units(r[10]))
        for r in session.execute(monthly_query(scope))
    ]
    totals: dict[tuple[str, str], MonthRow] = {}
    for row in rows:  # a few dozen month rows, already summed in SQL
        key = (row.utility, row.currency)
        before = totals.get(key)
        totals[key] = row if before is None else MonthRow(
            0, 0, row.utility, row.currency, before.vend_count + row.vend_count,
            before.reversal_count + row.reversal_count,
            before.gross_amount + row.gross_amount, before.vat_amount + row.vat_amount,
            before.excise_amount + row.excise_amount, before.net_amount + row.net_amount,
            before.units + row.units)
    total_rows = [MonthRow(0, 0, *[getattr(t, f) for f in ("utility", "currency", "vend_count", "reversal_count",
                                                           "gross_amount", "vat_amount", "excise_amount",
                                                           "net_amount", "units")])
                  for t in totals.values()]
    return MonthlySummary(rows, sorted(total_rows, key=lambda t: (t.utility, t.currency)), scope.descriptions)


MONTHLY_COLUMNS = [
    Column("Month", 9), Column("Utility", 11), Column("Currency", 8), Column("Sales", 9, "integer"),
    Column("Reversed", 8, "integer"), Column("Total paid", 14, "money"), Column("VAT", 12, "money"), Column("Excise duty", 12, "money"),
    Column("Charge value", 14, "money"), Column("Units sold", 14, "units"),
]


def monthly_table(report: MonthlySummary) -> ReportTable:
    def values(row, label):
        return (label, row.utility, row.currency, row.vend_count, row.reversal_count, row.gross_amount, row.vat_amount,
                row.excise_amount, row.net_amount, row.units)

    return ReportTable("Monthly Summary Report", MONTHLY_COLUMNS, [values(r, r.label) for r in report.rows],
                       [values(t, "Total") for t in report.totals], report.filters)


def _load(request: ReportRequest) -> Loaded:
    summary = summarize_months(request)
    return Loaded(summary.rows, summary.totals, summary.filters, result=summary)


REPORT = Report(
    key="monthly", api_name="monthly_summary",
    title="Monthly Summary Report", slug="monthly-summary", stem="monthly-summary",
    description="Paid, VAT, excise, units per month", api_summary="Monthly Summary Report: per month and utility",
    filters=("date_from", "date_to", "district", "station", "operator", "payment_type", "utility"),
    load=_load, table=lambda loaded: monthly_table(loaded.result),
    api_item=lambda row, values: values | {"month_label": row.label},
)
