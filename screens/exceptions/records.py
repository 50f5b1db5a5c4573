"""Clear Tamper Record and Clear Credit Record: past tokens, newest first, searchable, exportable.

/ searches by meter number prefix or customer ID prefix; PageDown/PageUp walk
database pages; Enter shows the receipt; x exports the current search to Excel.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from screens.calls import call_service
from screens.paged import PagedTableScreen
from stron_tui.services.management_kinds import KINDS
from stron_tui.domain.tokens import grouped
from widgets.paged_table import TablePage

COLUMNS = [("Customer ID", 12), ("Meter number", 13), ("Operator", 10), ("Token", 24), ("Time", 16),
           ("Reason", 30)]


class TokenRecordScreen(PagedTableScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "search", "Search", id="records.search"),
        Binding("x", "export", "Export", id="records.export"),
    ]
    TABLE_ID = "records-table"
    MESSAGE_ID = "records-message"
    LINES_AROUND_ROWS = 7

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.TITLE_TEXT = KINDS[kind].record_title

    def columns(self) -> list[tuple[str, int]]:
        return COLUMNS

    def search_hint(self) -> str:
        return "Meter number or customer ID"

    # runs in the table's worker thread
    def fetch(self, text: str, after: Any, backwards: bool) -> TablePage:
        from stron_tui.services import management

        limit = self.page_size(management.RECORDS_PAGE)
        page = management.records(self.app.ctx, self.app.actor, self.kind, text, after=after, backwards=backwards,
                                  limit=limit)
        rows = [(record.receipt_number,
                 [record.customer_code, record.meter_number, record.operator,
                  grouped(record.token.split()[-1]) if record.token else "", record.local_time, record.reason])
                for record in page.rows]
        return TablePage(rows, page.more, page.first_key, page.last_key)

    def open_row(self, receipt_number: str) -> None:
        from screens.topup.receipt import ReceiptScreen
        from stron_tui.services import management

        call_service(self, management.record_receipt, receipt_number, group="records",
                     on_success=lambda receipt: self.app.push_screen(ReceiptScreen(receipt)))

    def action_export(self) -> None:
        from stron_tui.services import management

        self.export_search(management.export_records, self.kind)


class ClearTamperRecordScreen(TokenRecordScreen):
    def __init__(self):
        super().__init__("clear_tamper")


class ClearCreditRecordScreen(TokenRecordScreen):
    def __init__(self):
        super().__init__("clear_credit")


SCREENS: dict[str, type[TokenRecordScreen]] = {"clear_tamper": ClearTamperRecordScreen,
                                              "clear_credit": ClearCreditRecordScreen}


def __getattr__(name: str):
    """`screens.exceptions.records:<kind>`, the target screens/registry.py gives each kind with records."""
    if name in SCREENS:
        return SCREENS[name]
    if name in KINDS and KINDS[name].has_records:
        return type(f"TokenRecordScreen_{name}", (TokenRecordScreen,),
                    {"__init__": lambda self: TokenRecordScreen.__init__(self, name), "__module__": __name__})
    raise AttributeError(name)
