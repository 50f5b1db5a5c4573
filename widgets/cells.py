"""Table cells from stored text.

A DataTable reads a plain string cell as Rich markup: a customer named
"[/]" would break the table and one named "[link=...]" would style it. Stored
text also may hold control characters (from before they were refused at the
door). These cells show text literally, with any control character as '?'.
"""

from __future__ import annotations

from rich.text import Text

from stron_tui.domain.text import for_markup, printable


def plain_cell(value: object, *, justify: str | None = None) -> Text:
    """A cell as a Rich Text (never read as markup)."""
    return Text(printable("" if value is None else value), end="", justify=justify)


def plain_cells(*values: object) -> list[str]:
    """String cells for DataTable.add_row: markup escaped, so the table shows exactly the stored text."""
    return [for_markup("" if value is None else value) for value in values]
