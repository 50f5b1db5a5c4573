"""The six reports and the cash-up as paged JSON, with the filters of the report screens.

The receipt and non-vending meter reports page in the database (keyset);
the others are already summed to a few rows per period, district or station
and are paged by position over the service's result.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from stron_tui.api.cursors import Cursors
from stron_tui.api.deps import ApiActor, Ctx, Pager
from stron_tui.api.schemas import ReportPage, plain
from stron_tui.services import reports
from stron_tui.services.reports import ReportFilters, parse_date

router = APIRouter(prefix="/reports", tags=["reports"])

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")]


def _filters(
    date_from: Annotated[str, Query(max_length=10, description="YYYY-MM-DD (business date)")] = "",
    date_to: Annotated[str, Query(max_length=10, description="YYYY-MM-DD (business date)")] = "",
    district: Annotated[str, Query(max_length=40, description="district code")] = "",
    station: Annotated[str, Query(max_length=40, description="sales station ID")] = "",
    operator: Annotated[str, Query(max_length=40, description="operator user ID")] = "",
    payment_type: Annotated[str, Query(max_length=40)] = "",
    utility: Annotated[str, Query(max_length=20)] = "",
    meter_number: Annotated[str, Query(max_length=20)] = "",
    customer: Annotated[str, Query(max_length=40, description="customer ID")] = "",
) -> ReportFilters:
    return ReportFilters(date_from=parse_date(date_from, "date_from"), date_to=parse_date(date_to, "date_to"),
                         district=district, station=station, operator=operator, payment_type=payment_type,
                         utility=utility, meter_number=meter_number, customer=customer)


Filters = Annotated[ReportFilters, Depends(_filters)]


def _positional(name: str, cursors: Cursors, rows: list, limit: int, cursor: str | None) -> tuple[list, str | None]:
    decoded = cursors.decode(name, cursor)
    start = int(decoded[0]) if decoded else 0
    end = start + limit
    return rows[start:end], cursors.encode(name, end if end < len(rows) else None)


@router.get("/receipts", response_model=ReportPage, summary="Receipt Report: single sales, newest first")
def receipt_report(ctx: Ctx, actor: ApiActor, cursors: Pager, filters: Filters, limit: Limit = 50,
                   cursor: Cursor = None):
    page = reports.receipts(ctx, actor, filters, after=cursors.decode("receipts", cursor), limit=limit)
    totals = None if cursor else [plain(t) for t in reports.receipt_totals(ctx, actor, filters)]
    items = []
    for row in page.rows:
        values = plain(row)
        values["token_grouped"] = row.token
        values["token"] = row.token.replace(" ", "")
        items.append(values)
    return ReportPage(report="receipts", filters=list(page.filters), items=items, totals=totals,
                      next_cursor=cursors.encode("receipts", page.next_key))


@router.get("/monthly-summary", response_model=ReportPage, summary="Monthly Summary Report: per month and utility")
def monthly_summary(ctx: Ctx, actor: ApiActor, cursors: Pager, filters: Filters, limit: Limit = 50,
                    cursor: Cursor = None):
    report = reports.monthly_summary(ctx, actor, filters)
    rows, next_cursor = _positional("monthly", cursors, report.rows, limit, cursor)
    return ReportPage(report="monthly-summary", filters=list(report.filters),
                      items=[plain(r) | {"month_label": r.label} for r in rows],
                      totals=None if cursor else [plain(t) for t in report.totals], next_cursor=next_cursor)


def _split_rows(rows) -> list[dict]:
    out = []
    for row in rows:
        values = plain(row)
        values["by_type"] = [{"payment_type": code, "vend_count": count, "amount": str(amount)}
                             for code, count, amount in row.by_type]
        out.append(values)
    return out


@router.get("/customer-payments", response_model=ReportPage,
            summary="Customer Payment Report: per sales station split by payment type; with station_id, "
                    "that station's customers")
def customer_payments(ctx: Ctx, actor: ApiActor, cursors: Pager, filters: Filters,
                      station_id: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                                              description="drill down to one station")] = None,
                      limit: Limit = 50, cursor: Cursor = None):
    if station_id is None:
        report = reports.station_payments(ctx, actor, filters)
    else:
        report = reports.customer_payments(ctx, actor, filters, station_id)
    rows, next_cursor = _positional(f"payments:{station_id or ''}", cursors, report.rows, limit, cursor)
    return ReportPage(report="customer-payments", filters=list(report.filters), items=_split_rows(rows),
                      totals=None if cursor else _split_rows(report.totals), next_cursor=next_cursor,
                      extra={"payment_types": [{"code": c, "name": n} for c, n in report.payment_types]})


@router.get("/transactions", response_model=ReportPage,
            summary="Transaction Number Report: the sales behind transaction numbers")
def transaction_report(ctx: Ctx, actor: ApiActor,
                       numbers: Annotated[str, Query(min_length=1, max_length=20_000,
                                                     description="transaction numbers separated by commas, "
                                                                 "semicolons or spaces")]):
    lookup = reports.transactions(ctx, actor, reports.split_numbers(numbers))
    items = []
    for row in lookup.found:
        values = plain(row)
        values["token_grouped"] = row.token
        values["token"] = row.token.replace(" ", "")
        values["key_change_tokens"] = row.key_change_tokens.split()
        items.append(values)
    return ReportPage(report="transactions", filters=[], items=items, extra={"missing": lookup.missing})


@router.get("/districts", response_model=ReportPage,
            summary="District Report: per district and station, cash, cheque, e-card, other, total")
def district_report(ctx: Ctx, actor: ApiActor, cursors: Pager, filters: Filters, limit: Limit = 50,
                    cursor: Cursor = None):
    report = reports.district_report(ctx, actor, filters)
    rows, next_cursor = _positional("districts", cursors, report.rows, limit, cursor)
    return ReportPage(report="districts", filters=list(report.filters), items=[plain(r) for r in rows],
                      totals=None if cursor else [plain(t) for t in report.totals], next_cursor=next_cursor)


@router.get("/non-vending-meters", response_model=ReportPage,
            summary="Non-Vending Meter Report: meters with no sale in the period (date_from is required)")
def non_vending_meters(ctx: Ctx, actor: ApiActor, cursors: Pager, filters: Filters, limit: Limit = 50,
                       cursor: Cursor = None):
    page = reports.silent_meters(ctx, actor, filters, after=cursors.decode("silent", cursor), limit=limit)
    extra = None if cursor else {"count": reports.silent_meter_count(ctx, actor, filters)}
    return ReportPage(report="non-vending-meters", filters=list(page.filters), items=[plain(r) for r in page.rows],
                      next_cursor=cursors.encode("silent", page.next_key), extra=extra)


@router.get("/cashup", response_model=ReportPage,
            summary="Cash-up Report: per operator (and day) sales by payment type, reprints and tokens")
def cashup_report(ctx: Ctx, actor: ApiActor, cursors: Pager, filters: Filters, by_day: bool = True,
                  limit: Limit = 50, cursor: Cursor = None):
    report = reports.cashup(ctx, actor, filters, by_day=by_day)
    rows, next_cursor = _positional(f"cashup:{int(by_day)}", cursors, report.lines, limit, cursor)
    return ReportPage(report="cashup", filters=list(report.filters), items=[plain(r) for r in rows],
                      totals=None if cursor else [plain(t) for t in report.totals], next_cursor=next_cursor)

