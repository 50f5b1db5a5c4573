"""A report as one table (columns, rows, totals): the screen shows it, the exports write it.

One definition for both, so a spreadsheet always holds what the screen showed.
Each report builds its table in its own module (catalog/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from stron_tui.exports.tables import Column

__all__ = ["Column", "ReportTable"]


@dataclass(frozen=True)
class ReportTable:
    title: str
    columns: list[Column]
    rows: Iterable[Sequence[Any]]
    totals: list[Sequence[Any]]
    filters: tuple[str, ...] = ()
