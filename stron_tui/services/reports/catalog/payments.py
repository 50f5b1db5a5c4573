"""3. Customer Payment Report: charges per sales station split by payment type; drill down to its customers.

Charges are net of reversals (on the day each was recorded); each row counts its reversals."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import func, select

from stron_tui.db.models import Customer, SalesStation
from stron_tui.errors import ValidationError
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.common import (
    Money,
    ReportRequest,
    code_names,
    conditions,
    ledger_of,
    open_request,
    payment_type_order,
    source_of,
)
from stron_tui.services.reports.scope import ReportFilters
from stron_tui.services.reports.spec import Loaded, Option, Report
from stron_tui.services.reports.tables import Column, ReportTable

@dataclass(frozen=True)
class PaymentSplitRow:
    """One station (or one customer at a station) in one currency, split by payment type."""

    key_id: int
    code: str
    name: str
    currency: str
    vend_count: int
    gross_amount: Decimal  # net of reversals
    by_type: tuple[tuple[str, int, Decimal], ...]  # (payment type, sales, amount) in payment_types order

    def amount_for(self, payment_type: str) -> Decimal:
        return next((amount for code, _, amount in self.by_type if code == payment_type), Decimal(0))

    def count_for(self, payment_type: str) -> int:
        return next((count for code, count, _ in self.by_type if code == payment_type), 0)

    reversal_count: int = 0


@dataclass(frozen=True)
class PaymentSplit:
    rows: list[PaymentSplitRow]
    totals: list[PaymentSplitRow]  # per currency, key_id 0
    payment_types: list[tuple[str, str]]
    filters: tuple[str, ...]
    station: tuple[int, str, str] | None = None  # set on a drill-down


def _split(rows: list[tuple], payment_types: list[tuple[str, str]], names: dict, money: Money,
           key_name: str) -> tuple[list[PaymentSplitRow], list[PaymentSplitRow]]:
    """Pivot (key, currency, payment type, count, reversals, amount) groups into one row per key and currency."""
    grouped: dict[tuple[int, str], dict[str, tuple[int, Decimal]]] = {}
    totals: dict[str, dict[str, tuple[int, Decimal]]] = {}
    reversed_: dict[tuple[int, str], int] = {}
    for key_id, currency, payment_type, count, reversals, amount in rows:
        amount = money(amount, currency)
        for key in ((key_id, currency), (0, currency)):
            reversed_[key] = reversed_.get(key, 0) + int(reversals or 0)
        grouped.setdefault((key_id, currency), {})[payment_type] = (int(count), amount)
        before = totals.setdefault(currency, {}).get(payment_type, (0, Decimal(0)))
        totals[currency][payment_type] = (before[0] + int(count), before[1] + amount)

    def build(key_id, code, name, currency, split):
        by_type = tuple((code_, *split.get(code_, (0, Decimal(0)))) for code_, _ in payment_types)
        return PaymentSplitRow(key_id, code, name, currency, sum(c for c, _ in split.values()),
                               sum((a for _, a in split.values()), Decimal(0)), by_type,
                               reversed_.get((key_id, currency), 0))

    result = [build(key_id, *names.get(key_id, ("?", "?")), currency, split)
              for (key_id, currency), split in grouped.items()]
    result.sort(key=lambda r: (r.code, r.currency) if key_name == "station" else (r.name, r.code, r.currency))
    total_rows = [build(0, "Total", currency, currency, split) for currency, split in sorted(totals.items())]
    return result, total_rows


def station_payments(ctx: AppContext, actor: Actor, filters: ReportFilters) -> PaymentSplit:
    """Per sales station: total charges, number of sales and the split by payment type."""
    with open_request(ctx, actor, filters) as request:
        return split_stations(request)


def split_stations(request: ReportRequest) -> PaymentSplit:
    session, scope = request.session, request.scope
    source = source_of(scope)
    query = (
        select(source.station_id, source.currency, source.payment_type, source.count, source.reversals, source.gross)
        .where(*conditions(source, scope))
        .group_by(source.station_id, source.currency, source.payment_type)
    )
    grouped = session.execute(query).all()
    payment_types = payment_type_order(session, (row[2] for row in grouped))
    names = code_names(session, SalesStation, (row[0] for row in grouped))
    rows, totals = _split(grouped, payment_types, names, Money(session), "station")
    return PaymentSplit(rows, totals, payment_types, scope.descriptions)


def customer_payments(ctx: AppContext, actor: Actor, filters: ReportFilters, station_id: int) -> PaymentSplit:
    """Drill-down: each customer's payments at one station, split by payment type."""
    with open_request(ctx, actor, filters, station_id=station_id) as request:
        return split_customers(request)


def split_customers(request: ReportRequest) -> PaymentSplit:
    """Each customer's payments at the station `request.options['station_id']`."""
    session, scope, station_id = request.session, request.scope, request.options["station_id"]
    if scope.station_limited and station_id != scope.station_id:
        station_id = scope.station_id  # the station limit wins over any drill-down
    station = session.execute(
        select(SalesStation.id, SalesStation.code, SalesStation.name).where(SalesStation.id == station_id)
    ).first()
    if station is None:
        raise ValidationError("That sales station no longer exists.", field="station")
    scope = replace(scope, station_id=station_id)
    ledger = ledger_of(scope)
    query = (
        select(ledger.c.customer_id, ledger.c.currency, ledger.c.payment_type, func.sum(ledger.c.vend_count),
               func.sum(ledger.c.reversal_count), func.sum(ledger.c.gross_amount))
        .group_by(ledger.c.customer_id, ledger.c.currency, ledger.c.payment_type)
    )
    grouped = session.execute(query).all()
    payment_types = payment_type_order(session, (row[2] for row in grouped))
    names = code_names(session, Customer, (row[0] for row in grouped))
    rows, totals = _split(grouped, payment_types, names, Money(session), "customer")
    return PaymentSplit(rows, totals, payment_types, scope.descriptions + (f"Station: {station.code} {station.name}",),
                        station=(station.id, station.code, station.name))


def payments_table(report: PaymentSplit) -> ReportTable:
    drill = report.station is not None
    columns = [Column("Code", 10), Column("Customer" if drill else "Station", 20), Column("Currency", 8),
               Column("Sales", 8, "integer"), Column("Reversed", 8, "integer"), Column("Total charges", 14, "money")]
    columns += [Column(name, 12, "money") for _, name in report.payment_types]

    def values(row):
        return (row.code, row.name, row.currency, row.vend_count, row.reversal_count, row.gross_amount,
                *[row.amount_for(code) for code, _ in report.payment_types])

    title = "Customer Payment Report" + (f": {report.station[1]} {report.station[2]}" if drill else "")
    totals = [("Total", "", t.currency, t.vend_count, t.reversal_count, t.gross_amount,
               *[t.amount_for(code) for code, _ in report.payment_types]) for t in report.totals]
    return ReportTable(title, columns, [values(r) for r in report.rows], totals, report.filters)


def _load(request: ReportRequest) -> Loaded:
    split = split_stations(request) if request.options["station_id"] is None else split_customers(request)
    return Loaded(split.rows, split.totals, split.filters, result=split,
                  extra={"payment_types": [{"code": c, "name": n} for c, n in split.payment_types]})


def _api_item(row: PaymentSplitRow, values: dict) -> dict:
    return values | {"by_type": [{"payment_type": code, "vend_count": count, "amount": str(amount)}
                                 for code, count, amount in row.by_type]}


REPORT = Report(
    key="payments", api_name="customer_payments",
    title="Customer Payment Report", slug="customer-payments", stem="customer-payments",
    description="Charges per station and payment type",
    api_summary="Customer Payment Report: per sales station split by payment type; with station_id, "
                "that station's customers",
    filters=("date_from", "date_to", "district", "station", "operator", "payment_type", "utility"),
    options=(Option("station_id", int, None, "drill down to one station", minimum=1, maximum=2**31 - 1),),
    load=_load, table=lambda loaded: payments_table(loaded.result), api_item=_api_item, api_total=_api_item,
)
