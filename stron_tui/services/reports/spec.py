"""What a report declares about itself; registry.py lists them, and every door reads that list.

A report module (catalog/<name>.py) holds its rows, its SQL, its columns and
one `REPORT = Report(...)`. The screens (screens/reports/), the Excel/PDF/CSV
export (export.py) and the API (stron_tui/api/routes/reports.py) are built
from these declarations, so a new report is its module plus one line in
registry.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from stron_tui.services.context import AppContext
from stron_tui.services.reports.common import ReportRequest
from stron_tui.services.reports.scope import ReportFilters
from stron_tui.services.reports.tables import ReportTable

# The filter bar fields a report may name, in the order reports show them.
FILTER_NAMES = ("date_from", "date_to", "district", "station", "operator", "payment_type", "utility",
                "meter_number", "customer")


@dataclass(frozen=True)
class Option:
    """An input a report takes besides the filter bar: a drill-down station, a switch, typed numbers.

    The API turns it into a query parameter with these bounds; the screen and
    the export pass it through by name.
    """

    name: str
    kind: type  # int, bool or str
    default: Any = None
    description: str = ""
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    parse: Callable[[Any], Any] | None = None  # typed text (an API query value) to the value the report takes


@dataclass
class Loaded:
    """One run of a report: its rows (one page or all), the totals, and what else a door shows."""

    rows: list
    totals: list | None  # the total rows (None: the report has none); summed on the first page only
    filters: tuple[str, ...]
    next_key: tuple | None = None  # keyset reports: the `after` of the next page
    extra: dict[str, Any] | None = None  # given to API clients beside the rows
    result: Any = None  # the report's own result object (a screen may draw more from it)
    options: dict[str, Any] = field(default_factory=dict)
    row_count: int | None = None  # keyset reports that know it: the rows of every page ("page 1 of 20")


@dataclass(frozen=True)
class Report:
    key: str  # the name export_report, the screens and the audit use: "receipts"
    title: str  # "Receipt Report"
    slug: str  # the API path under /reports and the `report` of its pages: "receipts"
    stem: str  # the export file name: "receipt-report"
    description: str  # the menu line
    api_summary: str  # the API operation's summary
    load: Callable[[ReportRequest], Loaded]
    table: Callable[[Loaded], ReportTable]  # what the screen shows and the export writes
    filters: tuple[str, ...] = ()  # filter bar fields (FILTER_NAMES); none: no filters are resolved
    options: tuple[Option, ...] = ()
    # "keyset": pages come from the database; "position": a few summed rows, the API pages by position;
    # "none": one answer, no paging.
    paging: Literal["keyset", "position", "none"] = "position"
    check: Callable[[AppContext, ReportFilters, dict], None] | None = None  # before the database is asked
    export: Callable[[ReportRequest], tuple[ReportTable, int]] | None = None  # streams a big report
    summary: Callable[[Loaded], str] | None = None  # the line under the screen's table
    api_item: Callable[[Any, dict], dict] | None = None  # a row's JSON (given plain values) for the API
    api_total: Callable[[Any, dict], dict] | None = None  # a total row's JSON (given plain values)
    cursor: str = ""  # the API cursor kind (default: the key)
    api_name: str = ""  # the API operation's name, stem of its operationId (default: <key>_report)
    default_days: tuple[int, int] | None = None  # the screen's period: (from, to) days before today
    date_from_label: str = "From"

    def __post_init__(self) -> None:
        unknown = set(self.filters) - set(FILTER_NAMES)
        if unknown:
            raise ValueError(f"{self.key}: unknown filters {sorted(unknown)}")

    @property
    def cursor_kind(self) -> str:
        return self.cursor or self.key

    def with_defaults(self, options: dict[str, Any]) -> dict[str, Any]:
        """The report's options, defaults filled in; an option the report does not take is a mistake."""
        names = {option.name for option in self.options}
        unknown = set(options) - names
        if unknown:
            raise TypeError(f"the {self.key} report takes no option {', '.join(sorted(unknown))}")
        return {option.name: options.get(option.name, option.default) for option in self.options}
