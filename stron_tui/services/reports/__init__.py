"""Reports: the six audit reports and the cash-up, computed in SQL, exported to Excel, PDF and CSV.

Each report is one module in catalog/ declaring its filters, columns, query,
totals and paging; registry.py lists them (see there how to add one).

The vending service calls `record_vend_in_daily_totals(session, vend)` in each
vend's own transaction, the reversal service `record_reversal_in_daily_totals`
in each reversal's (see aggregates.py).
"""

from stron_tui.services.reports.aggregates import (
    rebuild_report_aggregates,
    record_reversal_in_daily_totals,
    record_vend_in_daily_totals,
)
from stron_tui.services.reports.catalog.cashup import Cashup, CashupLine, cashup
from stron_tui.services.reports.catalog.districts import DistrictReport, DistrictRow, district_report
from stron_tui.services.reports.catalog.monthly import MonthlySummary, MonthRow, monthly_summary
from stron_tui.services.reports.catalog.non_vending import (
    SilentMeterPage,
    SilentMeterRow,
    silent_meter_count,
    silent_meters,
)
from stron_tui.services.reports.catalog.payments import (
    PaymentSplit,
    PaymentSplitRow,
    customer_payments,
    station_payments,
)
from stron_tui.services.reports.catalog.receipts import ReceiptPage, ReceiptRow, SaleTotals, receipt_totals, receipts
from stron_tui.services.reports.catalog.transactions import (
    TransactionDetail,
    TransactionLookup,
    split_numbers,
    transactions,
)
from stron_tui.services.reports.common import PAGE_SIZE
from stron_tui.services.reports.export import FORMATS, ExportResult, export_report
from stron_tui.services.reports.registry import REPORTS, report_named, run_report
from stron_tui.services.reports.scope import ReportFilters, parse_date, station_limit
from stron_tui.services.reports.spec import Loaded, Option, Report
from stron_tui.services.reports.tables import ReportTable

__all__ = [name for name in dir() if not name.startswith("_")]
