"""Clear Tamper Record and Clear Credit Record: past tokens, newest first, searchable, exportable.

/ searches by meter number prefix or customer ID prefix; PageDown/PageUp walk
database pages; Enter shows the receipt; x exports the current search to Excel.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from screens.base import StronScreen
from stron_tui.errors import StronError
from stron_tui.services.management_kinds import KINDS
from stron_tui.domain.tokens import grouped
from widgets.paged_table import PagedTable, TablePage

COLUMNS = [("Customer ID", 12), ("Meter number", 13), ("Operator", 10), ("Token", 24), ("Time", 16),
           ("Reason", 30)]


class TokenRecordScreen(StronScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "search", "Search", id="records.search"),
        Binding("x", "export", "Export", id="records.export"),
    ]
    DEFAULT_CSS = """
    TokenRecordScreen #records-message { height: auto; padding: 0 1; }
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.TITLE_TEXT = KINDS[kind].record_title

    def compose_body(self) -> ComposeResult:
        yield PagedTable(COLUMNS, self.fetch, placeholder="Meter number or customer ID", id="records-table")
        yield Static("", id="records-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus_table()

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    def say(self, text: str) -> None:
        self.query_one("#records-message", Static).update(text)

    # runs in the table's worker thread
    def fetch(self, text: str, after: Any, backwards: bool) -> TablePage:
        from stron_tui.services import management

        limit = max(10, self.size.height - 7) if self.size.height else management.RECORDS_PAGE
        page = management.records(self.app.ctx, self.app.actor, self.kind, text, after=after, backwards=backwards,
                                  limit=limit)
        rows = [(record.receipt_number,
                 [record.customer_code, record.meter_number, record.operator,
                  grouped(record.token.split()[-1]) if record.token else "", record.local_time, record.reason])
                for record in page.rows]
        return TablePage(rows, page.more, page.first_key, page.last_key)

    @on(PagedTable.Failed)
    def _failed(self, event: PagedTable.Failed) -> None:
        self.say(str(event.error) if isinstance(event.error, StronError) else f"Search failed: {event.error}")

    @on(PagedTable.Opened)
    def _opened(self, event: PagedTable.Opened) -> None:
        self._show_receipt(event.key)

    @work(thread=True, exclusive=True, group="records")
    def _show_receipt(self, receipt_number: str) -> None:
        from screens.topup.receipt import ReceiptScreen
        from stron_tui.services import management

        try:
            receipt = management.record_receipt(self.app.ctx, self.app.actor, receipt_number)
        except StronError as error:
            self.app.call_from_thread(self.say, str(error))
            return
        self.app.call_from_thread(self.app.push_screen, ReceiptScreen(receipt))

    def action_search(self) -> None:
        self.table.action_focus_search()

    def action_export(self) -> None:
        self.say("Exporting...")
        self._export(self.table.position.text)

    @work(thread=True, exclusive=True, group="records")
    def _export(self, text: str) -> None:
        from stron_tui.services import management

        try:
            result = management.export_records(self.app.ctx, self.app.actor, self.kind, text)
        except StronError as error:
            self.app.call_from_thread(self.say, str(error))
            return
        self.app.call_from_thread(self.say, f"Exported {result.rows:,} rows to {self.app.where_saved([result.path])}")


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
