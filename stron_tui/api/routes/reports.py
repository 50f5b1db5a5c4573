"""Every report in the service's registry as paged JSON, with the filters of the report screens.

One route per report, /reports/<slug>, built from its declaration
(stron_tui/services/reports/registry.py): keyset reports (receipts,
non-vending meters) page in the database; the others are already summed to a
few rows per period, district or station and are paged by position over the
service's result; a look-up (transaction numbers) is one answer.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from stron_tui.api.cursors import Cursors
from stron_tui.api.deps import ApiActor, Ctx, Pager
from stron_tui.api.schemas import ReportPage, plain
from stron_tui.services import reports
from stron_tui.services.reports import Option, Report, ReportFilters, parse_date

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


def _query_parameter(option: Option) -> inspect.Parameter:
    """A report option as a query parameter with its bounds."""
    kind = option.kind if option.required or option.default is not None else option.kind | None
    bounds = {key: value for key, value in (("ge", option.minimum), ("le", option.maximum),
                                            ("min_length", option.min_length), ("max_length", option.max_length))
              if value is not None}
    if option.description:
        bounds["description"] = option.description
    annotation = Annotated[kind, Query(**bounds)] if bounds else kind
    default = inspect.Parameter.empty if option.required else option.default
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _cursor_kind(report: Report, options: dict[str, Any]) -> str:
    """A position cursor belongs to the report and its options (a drill-down's pages are its own)."""
    parts = [report.cursor_kind]
    for option in report.options:
        value = options[option.name]
        parts.append("" if value is None else str(int(value)) if isinstance(value, bool) else str(value))
    return ":".join(parts)


def _report_route(report: Report):
    def plain_item(row, shape) -> dict:
        values = plain(row)
        return shape(row, values) if shape else values

    def endpoint(*, ctx, actor, cursors: Cursors | None = None, filters: ReportFilters | None = None,
                 limit: int = 50, cursor: str | None = None, **given) -> ReportPage:
        options = {option.name: option.parse(given[option.name]) if option.parse else given[option.name]
                   for option in report.options}
        if report.paging == "keyset":
            loaded = reports.run_report(ctx, actor, report.key, filters,
                                        after=cursors.decode(report.cursor_kind, cursor), limit=limit, **options)
            rows, next_cursor = loaded.rows, cursors.encode(report.cursor_kind, loaded.next_key)
        elif report.paging == "position":
            loaded = reports.run_report(ctx, actor, report.key, filters, **options)
            rows, next_cursor = _positional(_cursor_kind(report, options), cursors, loaded.rows, limit, cursor)
        else:
            loaded = reports.run_report(ctx, actor, report.key, filters, **options)
            rows, next_cursor = loaded.rows, None
        totals = None
        if not cursor and loaded.totals is not None:
            totals = [plain_item(t, report.api_total) for t in loaded.totals]
        return ReportPage(report=report.slug, filters=list(loaded.filters),
                          items=[plain_item(row, report.api_item) for row in rows], totals=totals,
                          next_cursor=next_cursor, extra=loaded.extra)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("ctx", keyword, annotation=Ctx),
                  inspect.Parameter("actor", keyword, annotation=ApiActor)]
    if report.paging != "none":
        parameters.append(inspect.Parameter("cursors", keyword, annotation=Pager))
    if report.filters:
        parameters.append(inspect.Parameter("filters", keyword, annotation=Filters))
    parameters += [_query_parameter(option) for option in report.options]
    if report.paging != "none":
        parameters += [inspect.Parameter("limit", keyword, default=50, annotation=Limit),
                       inspect.Parameter("cursor", keyword, default=None, annotation=Cursor)]
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=ReportPage)
    endpoint.__name__ = report.api_name or f"{report.key}_report"
    return endpoint


for _report in reports.REPORTS.values():
    router.add_api_route(f"/{_report.slug}", _report_route(_report), methods=["GET"], response_model=ReportPage,
                         summary=_report.api_summary)
