"""The paged table on its own: pages from its fetch function, says where the user is and how many there are."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from tests.screens.keyboard import settle
from widgets.paged_table import PagedTable, TablePage

NAMES = [f"meter {number:03d}" for number in range(1, 46)]  # 45 rows: three pages of 20, 20 and 5
PAGE = 20


def fetch_names(text: str, after, backwards: bool, *, counted: bool = True) -> TablePage:
    """Keyset paging over a sorted list, as the libraries page over an index."""
    names = [name for name in NAMES if text in name]
    if backwards:
        before = [name for name in names if after is None or name < after]
        rows = before[-PAGE:]
        more = len(before) > PAGE
    else:
        after_rows = [name for name in names if after is None or name > after]
        rows = after_rows[:PAGE]
        more = len(after_rows) > PAGE
    return TablePage([(name, [name]) for name in rows], more, rows[0] if rows else None,
                     rows[-1] if rows else None, total=len(names) if counted else None, page_size=PAGE,
                     noun="meters")


class TableApp(App):
    def __init__(self, counted: bool = True):
        super().__init__()
        self.counted = counted

    def compose(self) -> ComposeResult:
        yield PagedTable([("Meter", 12)], lambda t, a, b: fetch_names(t, a, b, counted=self.counted))


def info(app) -> str:
    return str(app.query_one("#paged-info", Static).render())


async def test_pages_say_page_n_of_m_and_the_total():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.query_one(PagedTable)
        table.focus_table()
        assert info(app) == "page 1 of 3, 45 meters"
        assert table.selected_key() == "meter 001"
        await pilot.press("pagedown")
        await settle(app, pilot)
        assert info(app) == "page 2 of 3, 45 meters" and table.selected_key() == "meter 021"
        await pilot.press("end")
        await settle(app, pilot)
        assert info(app) == "page 3 of 3, 45 meters"
        await pilot.press("home")
        await settle(app, pilot)
        assert info(app) == "page 1 of 3, 45 meters"


async def test_without_a_count_the_page_says_what_it_knows():
    app = TableApp(counted=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert info(app) == "page 1: 20 row(s)  PgDn more"


async def test_search_after_a_pause_narrows_the_rows():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(PagedTable).focus_table()
        await pilot.press("slash", *"04")
        await settle(app, pilot)  # waits for the type-ahead's debounce, no fixed sleep
        assert [key for key in app.query_one(PagedTable).keys] == ["meter 004", "meter 040", "meter 041", "meter 042",
                                                                    "meter 043", "meter 044", "meter 045"]
        assert info(app) == "page 1 of 1, 7 meters"
