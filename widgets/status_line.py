"""The status line: who is working, at which station, on which database."""

from __future__ import annotations

from textual.widgets import Static


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, text: str = "", **kwargs):
        super().__init__(text, markup=False, **kwargs)

    def show(self, *, operator: str, station: str, database: str, note: str = "") -> None:
        parts = [f"Operator: {operator}" if operator else "Not logged in"]
        if station:
            parts.append(f"Station: {station}")
        parts.append(f"DB: {database}")
        if note:
            parts.append(note)
        self.update(" | ".join(parts))
