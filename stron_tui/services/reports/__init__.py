"""Reports: the six audit reports and the cash-up, computed in SQL, exported to Excel, PDF and CSV.

The vending service calls `record_vend_in_daily_totals(session, vend)` in each
vend's own transaction (see aggregates.py).
"""

from stron_tui.services.reports.aggregates import rebuild_report_aggregates, record_vend_in_daily_totals
from stron_tui.services.reports.core import (
    PAGE_SIZE,
    Cashup,
    CashupLine,
    DistrictReport,
    DistrictRow,
    MonthlySummary,
    MonthRow,
    PaymentSplit,
    PaymentSplitRow,
    ReceiptPage,
    ReceiptRow,
    SaleTotals,
    SilentMeterPage,
    SilentMeterRow,
    TransactionDetail,
    TransactionLookup,
    cashup,
    customer_payments,
    district_report,
    monthly_summary,
    receipt_totals,
    receipts,
    silent_meter_count,
    silent_meters,
    split_numbers,
    station_payments,
    transactions,
)
from stron_tui.services.reports.export import FORMATS, REPORTS, ExportResult, export_report
from stron_tui.services.reports.scope import ReportFilters, parse_date, station_limit
from stron_tui.services.reports.tables import ReportTable

__all__ = [name for name in dir() if not name.startswith("_")]
