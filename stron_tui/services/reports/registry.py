"""The reports the product offers, in menu order: the screens, the export and the API read this list.

To add a report: write catalog/<name>.py (rows, SQL, columns, `REPORT = Report(...)`; copy the
closest existing report) and add its module to CATALOG below. The menu entry, the screen, the
Excel/PDF/CSV export and the API route /api/v1/reports/<slug> follow from the declaration.
"""

from __future__ import annotations

from typing import Any, Sequence

from stron_tui.errors import ValidationError
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.catalog import (blocks, cashup, debt, districts, monthly, non_vending, payments, receipts,
                                                revenue_parts, transactions)
from stron_tui.services.reports.common import PAGE_SIZE, open_request
from stron_tui.services.reports.scope import ReportFilters
from stron_tui.services.reports.spec import Loaded, Report

CATALOG = (receipts, monthly, payments, transactions, districts, non_vending, cashup, revenue_parts, debt, blocks)

REPORTS: dict[str, Report] = {module.REPORT.key: module.REPORT for module in CATALOG}


def report_named(key: str) -> Report:
    try:
        return REPORTS[key]
    except KeyError:
        raise ValidationError(f"There is no report named {key}.", field="report") from None


def run_report(ctx: AppContext, actor: Actor, key: str, filters: ReportFilters | None = None, *,
               after: Sequence | None = None, limit: int = PAGE_SIZE, carried: Loaded | None = None,
               **options: Any) -> Loaded:
    """One page (keyset reports) or the whole of a report; pass the first page's Loaded as `carried` with `after`."""
    report = report_named(key)
    options = report.with_defaults(options)
    filters = filters if filters is not None else ReportFilters()
    actor.require("reports.view")
    if report.check is not None:
        report.check(ctx, filters, options)
    with open_request(ctx, actor, filters if report.filters else None, after=after, limit=limit,
                      carried=carried if after is not None else None, **options) as request:
        loaded = report.load(request)
    loaded.options = options
    return loaded
