"""7. Cash-up (shift) Report: per operator, station (and day) the money by payment type, reprints and tokens.

The daily totals are net of reversals; a drawer is balanced from what was
taken and what was paid back, so a Sales line shows the sales made (the
reversals of the same operator, station, day, payment type and currency added
back) and a Reversals line beside it the money paid back, negative."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from stron_tui.db.models import ManagementToken, ReceiptPrint, SalesStation
from stron_tui.errors import ValidationError
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.common import (
    Money,
    ReportRequest,
    code_names,
    conditions,
    open_request,
    payment_type_order,
    source_of,
    user_codes,
)
from stron_tui.services.reports.scope import ReportFilters
from stron_tui.services.reports.spec import Loaded, Option, Report
from stron_tui.services.reports.tables import Column, ReportTable

@dataclass(frozen=True)
class CashupLine:
    operator: str
    business_date: date | None  # None when summed over the whole period
    item: str  # "Sales: Cash", "Reprints", "Token: clear_tamper", ...
    currency: str
    count: int
    amount: Decimal | None  # money handed over, in `currency`; None for reprints and tokens
    station: str = ""  # the station the sales are booked to (an operator without one books to the account's)


@dataclass(frozen=True)
class Cashup:
    lines: list[CashupLine]
    totals: list[CashupLine]  # per item and currency over all operators and days
    filters: tuple[str, ...]


def cashup(ctx: AppContext, actor: Actor, filters: ReportFilters, *, by_day: bool = True) -> Cashup:
    """Per operator, station (and day): sales and money by payment type and currency, reprints, tokens."""
    with open_request(ctx, actor, filters, by_day=by_day) as request:
        return cash_up(request)


def cash_up(request: ReportRequest) -> Cashup:
    session, scope, by_day = request.session, request.scope, request.options["by_day"]
    if scope.meter_id is not None or scope.customer_id is not None:
        raise ValidationError("The cash-up report is per operator; clear the meter and customer filters.",
                              field="meter_number" if scope.meter_id else "customer")
    source = source_of(scope)
    day = [source.business_date] if by_day else []
    sales = session.execute(
        select(source.operator, source.station_id, *day, source.payment_type, source.paid_currency,
               source.count, source.paid)
        .where(*conditions(source, scope))
        .group_by(source.operator, source.station_id, *day, source.payment_type, source.paid_currency)
    ).all()

    def events(model, *extra):
        day_column = [model.business_date] if by_day else []
        where = scope.conditions(business_date=model.business_date, station=model.station_id,
                                 operator=model.operator_id, api_account=model.api_account_id,
                                 district=model.district_id if model is ManagementToken else None)
        operator = func.coalesce(model.operator_id, 0)
        return session.execute(
            select(operator, model.station_id, *day_column, *extra, func.count(model.id)).where(*where)
            .group_by(operator, model.station_id, *day_column, *extra)
        ).all()

    # Reprints and tokens carry no payment type or utility: they are left out under such a filter.
    by_payment = scope.payment_type is not None or scope.utility is not None
    reprints = [] if by_payment else events(ReceiptPrint)
    tokens = [] if by_payment else events(ManagementToken, ManagementToken.kind)
    operators = user_codes(session, [r[0] for r in sales] + [r[0] for r in reprints] + [r[0] for r in tokens])
    stations = code_names(session, SalesStation, [r[1] for r in sales] + [r[1] for r in reprints]
                      + [r[1] for r in tokens])
    type_names = dict(payment_type_order(session, (r[-4] for r in sales)))
    money = Money(session)
    from stron_tui.services.shifts import cashup_lines  # reversals and shifts (cash control)

    cash_control = cashup_lines(request.ctx, session, scope, by_day=by_day)
    paid_back = {(line[0], line[1], line[2], line[4].removeprefix("Reversals: "), line[5]): line[7]
                 for line in cash_control if line[4].startswith("Reversals: ")}

    def station_code(station_id) -> str:
        return stations.get(station_id, ("", ""))[0]

    lines: list[tuple] = []
    for row in sales:
        operator, station_id, rest = row[0], row[1], row[2:]
        day_value, (payment_type, currency, count, paid) = (rest[0], rest[1:]) if by_day else (None, rest)
        who, station, name = operators.get(operator or 0, "?"), station_code(station_id), type_names.get(
            payment_type, payment_type)
        taken = money(paid, currency) - paid_back.get((who, day_value, station, name, currency), Decimal(0))
        if int(count) or taken:  # a day with a reversal but no sale of its own has its Reversals line only
            lines.append((who, day_value, station, 0, f"Sales: {name}", currency, int(count), taken))
    for row in reprints:
        operator, station_id, rest = row[0], row[1], row[2:]
        day_value, count = (rest[0], rest[1]) if by_day else (None, rest[0])
        lines.append((operators.get(operator or 0, "?"), day_value, station_code(station_id), 1, "Reprints", "",
                      int(count), None))
    for row in tokens:
        operator, station_id, rest = row[0], row[1], row[2:]
        day_value, kind, count = (rest[0], rest[1], rest[2]) if by_day else (None, rest[0], rest[1])
        lines.append((operators.get(operator or 0, "?"), day_value, station_code(station_id), 2, f"Token: {kind}",
                      "", int(count), None))
    lines += cash_control
    lines.sort(key=lambda l: (l[0], l[1] or date.min, l[2], l[3], l[4], l[5]))
    result = [CashupLine(op, day_value, item, currency, count, amount, station)
              for op, day_value, station, _, item, currency, count, amount in lines]

    totals: dict[tuple[int, str, str], list] = {}
    for op, day_value, station, order, item, currency, count, amount in lines:
        t = totals.setdefault((order, item, currency), [0, None if amount is None else Decimal(0)])
        t[0] += count
        if amount is not None:
            t[1] += amount
    total_lines = [CashupLine("Total", None, item, currency, count, amount)
                   for (order, item, currency), (count, amount) in sorted(totals.items())]
    return Cashup(result, total_lines, scope.descriptions)


CASHUP_COLUMNS = [
    Column("Operator", 12), Column("Date", 11, "date"), Column("Item", 24), Column("Currency", 8),
    Column("Count", 9, "integer"), Column("Amount", 14, "money"), Column("Station", 8),
]


def cashup_table(report: Cashup) -> ReportTable:
    def values(line):
        return (line.operator, line.business_date, line.item, line.currency, line.count, line.amount, line.station)

    return ReportTable("Cash-up Report", CASHUP_COLUMNS, [values(l) for l in report.lines],
                       [values(t) for t in report.totals], report.filters)


def _load(request: ReportRequest) -> Loaded:
    report = cash_up(request)
    return Loaded(report.lines, report.totals, report.filters, result=report)


REPORT = Report(
    key="cashup", api_name="cashup_report",
    title="Cash-up Report", slug="cashup", stem="cash-up",
    description="Balance a cash drawer at the end of a shift",
    api_summary="Cash-up Report: per operator (and day) sales by payment type, reprints and tokens",
    filters=("date_from", "date_to", "station", "operator", "district"),
    options=(Option("by_day", bool, True),),
    load=_load, table=lambda loaded: cashup_table(loaded.result), default_days=(0, 0),
)
