"""5. District Report: per district and sales station, sales, cash, cheque, e-card, other and total revenue.

Revenue is net of reversals (on the day each was recorded); the reversals are counted beside the sales."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select

from stron_tui.db.models import District, SalesStation
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.common import Money, ReportRequest, code_names, conditions, open_request, source_of
from stron_tui.services.reports.scope import ReportFilters, Scope
from stron_tui.services.reports.spec import Loaded, Report
from stron_tui.services.reports.tables import Column, ReportTable

# District Report columns named by the brief; every other payment type goes to "other".
DISTRICT_REPORT_TYPES = ("cash", "cheque", "e-card")

@dataclass(frozen=True)
class DistrictRow:
    district_id: int
    district_code: str
    district: str
    station_id: int
    station_code: str
    station: str
    currency: str
    vend_count: int
    reversal_count: int
    cash: Decimal
    cheque: Decimal
    e_card: Decimal
    other: Decimal
    total: Decimal


@dataclass(frozen=True)
class DistrictReport:
    rows: list[DistrictRow]
    totals: list[DistrictRow]  # per currency
    filters: tuple[str, ...]


def district_query(scope: Scope) -> Select:
    source = source_of(scope)

    def of_type(*codes, negate=False):
        condition = source.payment_type.in_(codes)
        return source.sum_where(~condition if negate else condition, "gross_amount")

    return (
        select(source.district_id, source.station_id, source.currency, source.count, source.reversals,
               of_type("cash"), of_type("cheque"), of_type("e-card"),
               of_type(*DISTRICT_REPORT_TYPES, negate=True), source.gross)
        .where(*conditions(source, scope))
        .group_by(source.district_id, source.station_id, source.currency)
    )


def district_report(ctx: AppContext, actor: Actor, filters: ReportFilters) -> DistrictReport:
    """Per district and sales station: sales, cash, cheque, e-card, other payment types, total revenue."""
    with open_request(ctx, actor, filters) as request:
        return district_rows(request)


def district_rows(request: ReportRequest) -> DistrictReport:
    session, scope = request.session, request.scope
    grouped = session.execute(district_query(scope)).all()
    districts = code_names(session, District, (r[0] for r in grouped))
    stations = code_names(session, SalesStation, (r[1] for r in grouped))
    money = Money(session)
    rows = []
    for district_id, station_id, currency, count, reversed_, cash, cheque, e_card, other, total in grouped:
        d_code, d_name = districts.get(district_id, ("?", "?"))
        s_code, s_name = stations.get(station_id, ("?", "?"))
        rows.append(DistrictRow(district_id, d_code, d_name, station_id, s_code, s_name, currency, int(count),
                                int(reversed_ or 0), money(cash, currency), money(cheque, currency), money(e_card, currency),
                                money(other, currency), money(total, currency)))
    rows.sort(key=lambda r: (r.district_code, r.station_code, r.currency))
    totals: dict[str, list] = {}
    for row in rows:
        t = totals.setdefault(row.currency, [0, 0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        for index, value in enumerate((row.vend_count, row.reversal_count, row.cash, row.cheque, row.e_card, row.other, row.total)):
            t[index] += value
    total_rows = [DistrictRow(0, "Total", "", 0, "", "", currency, *values)
                  for currency, values in sorted(totals.items())]
    return DistrictReport(rows, total_rows, scope.descriptions)


DISTRICT_COLUMNS = [
    Column("District", 9), Column("District name", 16), Column("Station", 9), Column("Station name", 16),
    Column("Currency", 8), Column("Charges", 9, "integer"),
    Column("Reversed", 8, "integer"), Column("Cash", 13, "money"),
    Column("Cheque", 13, "money"), Column("E-card", 13, "money"), Column("Other", 13, "money"),
    Column("Total revenue", 14, "money"),
]


def district_table(report: DistrictReport) -> ReportTable:
    def values(row):
        return (row.district_code, row.district, row.station_code, row.station, row.currency, row.vend_count,
                row.reversal_count, row.cash, row.cheque, row.e_card, row.other, row.total)

    return ReportTable("District Report", DISTRICT_COLUMNS, [values(r) for r in report.rows],
                       [values(t) for t in report.totals], report.filters)


def _load(request: ReportRequest) -> Loaded:
    report = district_rows(request)
    return Loaded(report.rows, report.totals, report.filters, result=report)


REPORT = Report(
    key="districts", api_name="district_report",
    title="District Report", slug="districts", stem="district-report",
    description="Charges and revenue per district",
    api_summary="District Report: per district and station, cash, cheque, e-card, other, total",
    filters=("date_from", "date_to", "district", "station", "operator", "utility"),
    load=_load, table=lambda loaded: district_table(loaded.result),
)
