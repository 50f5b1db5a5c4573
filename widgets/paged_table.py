"""A searchable table that pages from the database with keyset pagination.

It knows nothing about what it shows: the screen gives it column titles and a
`fetch(text, after, backwards) -> TablePage` callable (run in a thread worker).
`/` focuses the search box; typing searches after a 300 ms pause (one
one-shot timer, nothing repaints while idle); PageUp/PageDown walk pages,
Home/End jump to the first/last page; Enter posts `PagedTable.Opened`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from widgets.cells import plain_cells
from widgets.fields import TextInput

SEARCH_DELAY = 0.3


@dataclass(frozen=True)
class TablePage:
    rows: list[tuple[Any, Sequence[Any]]]  # (row key, cells)
    more: bool  # more rows in the direction the page was fetched
    first_key: Any = None
    last_key: Any = None
    note: str = ""
    total: int | None = None  # rows in the whole list, when the caller counted them
    page_size: int = 0  # the rows a full page holds (to count the pages)
    noun: str = "rows"  # what the rows are: "353 meters"
    found: bool = False  # rows a search found: "45 meters found"
    total_limit: int | None = None  # the count stopped after this many: a larger total means "more than"


@dataclass
class _Position:
    text: str = ""
    first_key: Any = None
    last_key: Any = None
    has_next: bool = False
    has_prev: bool = False
    page_number: int = 1
    extra: dict = field(default_factory=dict)


class RowsTable(DataTable):
    """The rows: PageUp/PageDown/Home/End move between database pages, not within the few rows shown."""

    BINDINGS = [
        Binding("pagedown", "page('next')", "Next page", show=False, id="table.page-next"),
        Binding("pageup", "page('previous')", "Previous page", show=False, id="table.page-previous"),
        Binding("home", "page('first')", "First page", show=False, id="table.page-first"),
        Binding("end", "page('last')", "Last page", show=False, id="table.page-last"),
    ]

    def action_page(self, where: str) -> None:
        owner = self.parent
        if isinstance(owner, PagedTable):
            getattr(owner, f"action_{where}_page")()


class PagedTable(Vertical):
    DEFAULT_CSS = """
    PagedTable { height: 1fr; }
    PagedTable > #paged-search { margin: 0 1; }
    PagedTable > DataTable { height: 1fr; }
    PagedTable > #paged-info { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="table.focus-search"),
        Binding("pagedown", "next_page", "Next page", show=False, id="table.page-next"),
        Binding("pageup", "previous_page", "Previous page", show=False, id="table.page-previous"),
        Binding("home", "first_page", "First page", show=False, id="table.page-first"),
        Binding("end", "last_page", "Last page", show=False, id="table.page-last"),
    ]

    class Opened(Message):
        """Enter on a row."""

        def __init__(self, table: "PagedTable", key: Any):
            super().__init__()
            self.table = table
            self.key = key

    class Failed(Message):
        def __init__(self, table: "PagedTable", error: Exception):
            super().__init__()
            self.table = table
            self.error = error

    def __init__(self, columns: Sequence[tuple[str, int]], fetch: Callable[[str, Any, bool], TablePage], *,
                 placeholder: str = "Search", id: str | None = None):
        super().__init__(id=id)
        self._columns = columns
        self._fetch = fetch
        self._placeholder = placeholder
        self._timer: Timer | None = None
        self.position = _Position()
        self.keys: list[Any] = []

    def compose(self) -> ComposeResult:
        yield TextInput(placeholder=f"{self._placeholder}  (/ to search)", id="paged-search")
        table = RowsTable(id="paged-rows", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="paged-info", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for title, width in self._columns:
            table.add_column(title, width=width)
        self.reload()

    # ------------------------------------------------------------ public

    @property
    def search_text(self) -> str:
        return self.query_one("#paged-search", Input).value

    @property
    def data_table(self) -> DataTable:
        return self.query_one(DataTable)

    def reload(self) -> None:
        """Show the first page for the current search again (after a change)."""
        self._load(self.search_text, None, False, "home")

    def selected_key(self) -> Any:
        table = self.data_table
        if not self.keys or table.cursor_row < 0 or table.cursor_row >= len(self.keys):
            return None
        return self.keys[table.cursor_row]

    def focus_table(self) -> None:
        self.data_table.focus()

    # ------------------------------------------------------------ keys

    def action_focus_search(self) -> None:
        self.query_one("#paged-search", Input).focus()

    def action_next_page(self) -> None:
        if self.position.has_next:
            self._load(self.position.text, self.position.last_key, False, "next")

    def action_previous_page(self) -> None:
        if self.position.has_prev:
            self._load(self.position.text, self.position.first_key, True, "prev")

    def action_first_page(self) -> None:
        self._load(self.position.text, None, False, "home")

    def action_last_page(self) -> None:
        self._load(self.position.text, None, True, "end")

    @on(Input.Changed, "#paged-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, self._search_now)

    @on(Input.Submitted, "#paged-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._search_now()
        self.data_table.focus()
        enter_handled = getattr(self.screen, "enter_handled", None)
        if enter_handled is not None:
            enter_handled()  # keys typed after Enter go to the list once the search has answered

    def _search_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._load(self.search_text, None, False, "home")

    @on(DataTable.RowSelected)
    def _opened(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = self.selected_key()
        if key is not None:
            self.post_message(self.Opened(self, key))

    # ------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="paged-table")
    def _load(self, text: str, after: Any, backwards: bool, how: str) -> None:
        try:
            page = self._fetch(text, after, backwards)
        except Exception as error:  # shown by the screen; the table stays as it was
            self.app.call_from_thread(self.post_message, self.Failed(self, error))
            return
        self.app.call_from_thread(self._show, text, page, backwards, how)

    def _show(self, text: str, page: TablePage, backwards: bool, how: str) -> None:
        position = self.position
        if how == "home":
            number, has_prev, has_next = 1, False, page.more
        elif how == "end":
            number, has_prev, has_next = 0, page.more, False
        elif how == "next":
            number, has_prev, has_next = position.page_number + 1 if position.page_number else 0, True, page.more
        else:
            number, has_prev, has_next = max(position.page_number - 1, 0), page.more, True
            if not page.more and number == 0:
                number = 1
        if not page.rows and how in ("next", "prev"):
            return
        self.position = _Position(text, page.first_key, page.last_key, has_next, has_prev, number)
        table = self.data_table
        table.clear()
        self.keys = [key for key, _ in page.rows]
        for key, cells in page.rows:
            table.add_row(*plain_cells(*cells), key=str(key))
        if how == "end" and page.rows:
            table.move_cursor(row=len(page.rows) - 1)
        where = f"page {number}" if number else "last page"
        if not page.rows:
            info = "Nothing found." if text else "The list is empty."
        elif page.total is not None and page.total_limit is not None and page.total > page.total_limit:
            info = f"{where}, more than {page.total_limit:,} {page.noun}{' found' if page.found else ''}"
            info += "  PgDn more" if has_next else ""
        elif page.total is not None and page.page_size:
            pages = max(1, -(-page.total // page.page_size))
            info = f"page {number or pages} of {pages}, {page.total:,} {page.noun}{' found' if page.found else ''}"
        else:
            info = f"{where}: {len(page.rows)} row(s)"
            info += "  PgDn more" if has_next else ""
            info += "  PgUp back" if has_prev else ""
        if page.note:
            info += f"  ({page.note})"
        self.query_one("#paged-info", Static).update(info)
