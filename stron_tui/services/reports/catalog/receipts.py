"""1. Receipt Report: every sale with its token, newest first, paged from the database.

A reversed sale stays listed with its reversal's number; the totals are net of
the reversals recorded in the period and count them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, Customer, District, Reversal, SalesStation, User, Vend
from stron_tui.db.queries import Page, keyset_page
from stron_tui.domain.operators import operator_label
from stron_tui.domain.tokens import grouped
from stron_tui.money import money_text
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.common import (
    PAGE_SIZE,
    Money,
    ReportRequest,
    conditions,
    open_request,
    source_of,
    round_units,
    vend_conditions,
)
from stron_tui.services.reports.scope import ReportFilters, Scope
from stron_tui.services.reports.spec import Loaded, Report
from stron_tui.services.reports.tables import Column, ReportTable

STREAM_BATCH = 2000  # rows fetched at a time when a whole report streams into a file


@dataclass(frozen=True)
class ReceiptRow:
    vend_id: int
    created_at: datetime  # local time at the installation's zone
    business_date: date
    receipt_number: str
    transaction_number: str
    district: str
    customer_code: str
    customer: str
    meter_number: str
    account_number: str
    utility: str
    payment_type: str
    paid_currency: str
    paid_amount: Decimal
    currency: str
    gross_amount: Decimal
    vat_amount: Decimal
    excise_amount: Decimal
    net_amount: Decimal
    units: Decimal
    unit: str
    token: str
    operator: str
    station: str
    reversal_number: str = ""  # the reversal's number when the sale was reversed


@dataclass(frozen=True)
class SaleTotals:
    """Sums for one pair of currencies (paid in `paid_currency`, priced in `currency`)."""

    paid_currency: str
    currency: str
    vend_count: int
    paid_amount: Decimal  # this and the amounts below: the sales less the reversals recorded in the period
    gross_amount: Decimal
    vat_amount: Decimal
    excise_amount: Decimal
    net_amount: Decimal
    units: Decimal | None  # None when the sales are of different units: kWh and m3 are never added
    units_by_utility: tuple[tuple[str, str, Decimal], ...] = ()  # (utility, unit, units) for each utility sold
    reversal_count: int = 0


UTILITY_UNITS = {"electricity": "kWh", "water": "m3", "gas": "m3"}  # the unit a utility's tariffs sell


@dataclass(frozen=True)
class ReceiptPage:
    rows: list[ReceiptRow]
    next_key: tuple | None
    filters: tuple[str, ...]

    @property
    def has_more(self) -> bool:
        return self.next_key is not None


def receipt_query(scope: Scope, zone) -> Select:
    """Single sales, newest first, with the names a receipt line shows."""
    return (
        select(
            Vend.id, Vend.created_at, Vend.business_date, Vend.receipt_number, Vend.transaction_number,
            District.name.label("district"), Customer.code.label("customer_code"),
            Customer.name.label("customer"), Vend.meter_number, Account.account_number, Vend.utility,
            Vend.payment_type, Vend.paid_currency, Vend.paid_amount, Vend.currency, Vend.gross_amount,
            Vend.vat_amount, Vend.excise_amount, Vend.net_amount, Vend.units, Vend.unit, Vend.token,
            User.user_code.label("operator"), SalesStation.name.label("station"),
            Reversal.reversal_number,
        )
        .join(District, District.id == Vend.district_id)
        .join(Customer, Customer.id == Vend.customer_id)
        .join(Account, Account.id == Vend.account_id)
        .join(SalesStation, SalesStation.id == Vend.station_id)
        .outerjoin(User, User.id == Vend.operator_id)
        .outerjoin(Reversal, Reversal.vend_id == Vend.id)
        .where(*vend_conditions(scope, zone))
    )


def receipt_row(row, zone) -> ReceiptRow:
    return ReceiptRow(
        vend_id=row.id, created_at=row.created_at.astimezone(zone), business_date=row.business_date,
        receipt_number=row.receipt_number, transaction_number=row.transaction_number, district=row.district,
        customer_code=row.customer_code, customer=row.customer, meter_number=row.meter_number,
        account_number=row.account_number, utility=row.utility, payment_type=row.payment_type,
        paid_currency=row.paid_currency, paid_amount=row.paid_amount, currency=row.currency,
        gross_amount=row.gross_amount, vat_amount=row.vat_amount, excise_amount=row.excise_amount,
        net_amount=row.net_amount, units=row.units, unit=row.unit, token=grouped(row.token),
        operator=operator_label(row.operator), station=row.station, reversal_number=row.reversal_number or "",
    )


def receipt_page(request: ReportRequest) -> ReceiptPage:
    """One page of sales, newest first, from `request.after`."""
    scope, zone = request.scope, request.zone
    query, to_page = keyset_page(
        receipt_query(scope, zone), [Vend.created_at, Vend.id], after=request.after, limit=request.limit,
        descending=True, key_of=lambda row: (row.created_at, row.id),
    )
    page: Page = to_page(request.session.execute(query).all())
    return ReceiptPage([receipt_row(row, zone) for row in page.rows], page.next_key, scope.descriptions)


def receipts(ctx: AppContext, actor: Actor, filters: ReportFilters, *, after: Sequence | None = None,
             limit: int = PAGE_SIZE) -> ReceiptPage:
    """One page of sales, newest first; pass `next_key` back as `after` for the next page."""
    with open_request(ctx, actor, filters, after=after, limit=limit) as request:
        return receipt_page(request)


def sale_totals(session: Session, scope: Scope, zone) -> list[SaleTotals]:
    source = source_of(scope)
    query = (
        select(source.paid_currency, source.currency, source.count, source.paid, source.gross, source.vat,
               source.excise, source.net, source.units, source.utility, source.reversals)
        .where(*conditions(source, scope))
        .group_by(source.paid_currency, source.currency, source.utility)
        .order_by(source.currency, source.paid_currency, source.utility)
    )
    # Money adds up per currency pair; units only per utility (a kWh and a m3 are not the same thing).
    pairs: dict[tuple[str, str], list] = {}
    for row in session.execute(query):
        if not row[2] and not row[10]:
            continue
        sums = pairs.setdefault((row[0], row[1]),
                                [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0), [], 0])
        sums[0] += int(row[2])
        sums[7] += int(row[10] or 0)
        for index in range(1, 6):
            sums[index] += Decimal(row[index + 2] or 0)
        sums[6].append((row[9], UTILITY_UNITS.get(row[9], ""), round_units(row[8])))
    money = Money(session)
    totals = []
    for (paid_currency, currency), (count, paid, gross, vat, excise, net, by_utility, reversed_) in pairs.items():
        one_unit = len({unit for _utility, unit, _units_sold in by_utility}) == 1
        units = sum((units_sold for _utility, _unit, units_sold in by_utility), Decimal("0.0")) if one_unit else None
        totals.append(SaleTotals(paid_currency, currency, count, money(paid, paid_currency), money(gross, currency),
                                 money(vat, currency), money(excise, currency), money(net, currency), units,
                                 tuple(by_utility), reversed_))
    return totals


def receipt_totals(ctx: AppContext, actor: Actor, filters: ReportFilters) -> list[SaleTotals]:
    """Count and sums of every sale the filters select (all pages), per currency pair."""
    with open_request(ctx, actor, filters) as request:
        return sale_totals(request.session, request.scope, request.zone)


# ---------------------------------------------------------------------------
# The table and the declaration


RECEIPT_COLUMNS = [
    Column("Time", 17, "datetime"), Column("Receipt", 12), Column("Transaction", 12), Column("District", 12),
    Column("Customer", 18), Column("Meter", 12), Column("Account", 11), Column("Payment", 8),
    Column("Paid", 10, "money"), Column("Cur", 5), Column("Gross", 10, "money"), Column("VAT", 9, "money"),
    Column("Excise", 8, "money"), Column("Net", 10, "money"), Column("Units", 8, "units"),
    Column("Token", 23), Column("Operator", 9), Column("Station", 11), Column("Reversed", 12),
]


def receipt_values(row: ReceiptRow) -> tuple:
    return (row.created_at, row.receipt_number, row.transaction_number, row.district, row.customer,
            row.meter_number, row.account_number, row.payment_type, row.paid_amount, row.paid_currency,
            row.gross_amount, row.vat_amount, row.excise_amount, row.net_amount, row.units, row.token,
            row.operator, row.station, row.reversal_number)


def receipt_line(row, zone) -> tuple:
    """receipt_values(receipt_row(row)) without the dataclass: the export path, 100,000 rows at a time."""
    (_, created_at, _, receipt_number, transaction_number, district, _, customer, meter_number, account_number, _,
     payment_type, paid_currency, paid_amount, _, gross, vat, excise, net, units_, _, token, operator, station,
     reversal_number) = row
    return (created_at.astimezone(zone), receipt_number, transaction_number, district, customer, meter_number,
            account_number, payment_type, paid_amount, paid_currency, gross, vat, excise, net, units_,
            grouped(token), operator_label(operator), station, reversal_number or "")


def receipt_totals_values(totals: Sequence[SaleTotals]) -> list[tuple]:
    """A total row per currency pair, each cell under its own column (Cur under Cur); where the sales
    were of different units, the units stay apart: one row per utility under Units."""
    rows: list[tuple] = []
    for t in totals:
        rows.append((f"Total: {t.vend_count:,} sales", None, None, None, None, None, None, None, t.paid_amount,
                     t.paid_currency, t.gross_amount, t.vat_amount, t.excise_amount, t.net_amount, t.units,
                     None, None, None, f"{t.reversal_count:,} reversed" if t.reversal_count else None))
        if t.units is None:
            rows += [(f"Total {utility} ({unit})", None, None, None, None, None, None, None, None, None, None, None,
                      None, None, units, None, None, None, None) for utility, unit, units in t.units_by_utility]
    return rows


def receipts_table(rows, totals: Sequence[SaleTotals], filters=()) -> ReportTable:
    return ReportTable("Receipt Report", RECEIPT_COLUMNS, (receipt_values(r) for r in rows),
                       receipt_totals_values(totals), tuple(filters))


def money_summary(totals: Sequence[SaleTotals]) -> str:
    parts = []
    for t in totals:
        paid = f" (paid {money_text(t.paid_amount, t.paid_currency)})" if t.paid_currency != t.currency else ""
        units = ", ".join(f"{units:,} {unit} {utility}" for utility, unit, units in t.units_by_utility)
        reversed_ = f" ({t.reversal_count:,} reversed)" if t.reversal_count else ""
        parts.append(f"{t.vend_count:,} sales{reversed_}: {money_text(t.gross_amount, t.currency)}{paid}, "
                     f"VAT {money_text(t.vat_amount)}, excise {money_text(t.excise_amount)}, "
                     f"net {money_text(t.net_amount)}; {units}")
    return "Totals: " + " | ".join(parts) if parts else "Totals: no sales"


def _load(request: ReportRequest) -> Loaded:
    page = receipt_page(request)
    # Totals cover every page: summed with the first, carried by the screen, left out of later API pages.
    if request.first_page:
        totals = sale_totals(request.session, request.scope, request.zone)
    else:
        totals = request.carried.totals if request.carried is not None else None
    count = sum(t.vend_count for t in totals) if totals is not None else None  # one row per sale
    return Loaded(page.rows, totals, page.filters, page.next_key, result=page, row_count=count)


def _export(request: ReportRequest) -> tuple[ReportTable, int]:
    """Every sale the filters select, streamed from a server-side cursor into the file."""
    scope, zone = request.scope, request.zone
    totals = sale_totals(request.session, scope, zone)
    query = receipt_query(scope, zone).order_by(Vend.created_at.desc(), Vend.id.desc())
    result = request.session.execute(query.execution_options(yield_per=STREAM_BATCH))
    table = ReportTable("Receipt Report", RECEIPT_COLUMNS, (receipt_line(row, zone) for row in result),
                        receipt_totals_values(totals), scope.descriptions)
    return table, sum(t.vend_count for t in totals)


def _api_item(row: ReceiptRow, values: dict) -> dict:
    return values | {"token_grouped": row.token, "token": row.token.replace(" ", "")}


REPORT = Report(
    key="receipts", api_name="receipt_report",
    title="Receipt Report", slug="receipts", stem="receipt-report",
    description="Every sale with its token", api_summary="Receipt Report: single sales, newest first",
    filters=("date_from", "date_to", "district", "station", "operator", "payment_type", "utility", "meter_number",
             "customer"),
    paging="keyset", load=_load, export=_export,
    table=lambda loaded: receipts_table(loaded.rows, loaded.totals, loaded.filters),
    summary=lambda loaded: money_summary(loaded.totals), api_item=_api_item,
)
