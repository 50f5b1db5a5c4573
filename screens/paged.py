"""The paged-table screen: a list that pages from the database, with a message line under it.

Base Data libraries and the token records are such lists. A subclass gives the columns, the search
hint and `fetch(text, after, backwards) -> TablePage` (run in the table's worker thread), and says
what Enter on a row opens (`open_row`). The keys, the failure message and the page size are here once.
"""

from __future__ import annotations

from typing import Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.errors import StronError
from widgets.paged_table import PagedTable, TablePage


class PagedTableScreen(StronScreen):
    TABLE_ID = "list-table"
    MESSAGE_ID = "list-message"
    # Screen lines that are not table rows (title, search box, table header, info, message, status, footer).
    LINES_AROUND_ROWS = 6
    DEFAULT_CSS = """
    PagedTableScreen .list-message { height: auto; padding: 0 1; }
    """

    def columns(self) -> list[tuple[str, int]]:
        raise NotImplementedError

    def search_hint(self) -> str:
        return "Search"

    def fetch(self, text: str, after: Any, backwards: bool) -> TablePage:
        raise NotImplementedError

    def open_row(self, key: Any) -> None:
        """Enter on a row."""

    def compose_body(self) -> ComposeResult:
        yield PagedTable(self.columns(), self.fetch, placeholder=self.search_hint(), id=self.TABLE_ID)
        yield Static("", id=self.MESSAGE_ID, classes="list-message", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus_table()

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    def page_size(self, default: int) -> int:
        """The rows that fit on the screen now (read in the worker thread: a plain attribute)."""
        return max(10, self.size.height - self.LINES_AROUND_ROWS) if self.size.height else default

    @on(PagedTable.Failed)
    def _failed(self, event: PagedTable.Failed) -> None:
        self.say(event.error.message if isinstance(event.error, StronError) else f"Search failed: {event.error}")

    @on(PagedTable.Opened)
    def _opened(self, event: PagedTable.Opened) -> None:
        self.open_row(event.key)

    def action_search(self) -> None:
        self.table.action_focus_search()

    def export_search(self, export: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Export what the current search finds with `export(ctx, actor, *args, text, **kwargs)`; say where."""
        call_service(self, export, *args, self.table.position.text, busy="Exporting...", group="export",
                     on_success=lambda result: self.say(
                         f"Exported {result.rows:,} rows to {self.app.where_saved([result.path])}"), **kwargs)
