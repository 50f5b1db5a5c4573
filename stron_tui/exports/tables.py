"""Streaming table writers (Excel and CSV): constant memory whatever the row count.

`rows` is any iterable (usually a server-side cursor); `progress(done)` is
called every few thousand rows and may raise ExportCancelled to stop.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from stron_tui.exports.files import atomic_file
from stron_tui.exports.xlsx import XlsxFile

PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class Column:
    title: str
    width: int = 14
    kind: str = "text"  # text | money | units | integer | date | datetime


def write_xlsx(
    path: Path,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    sheet: str = "Data",
    title_lines: Sequence[str] = (),
    totals: Sequence[Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write rows to .xlsx with the streaming writer (stron_tui/exports/xlsx.py); returns the row count.

    Title lines and the header row are bold; `totals`, when given, is a last bold row.
    """
    count = 0
    with atomic_file(path) as temporary:
        workbook = XlsxFile(temporary, sheet, [column.width for column in columns],
                            [column.kind for column in columns])
        try:
            writer = workbook.sheet
            for line in title_lines:
                writer.write_row((line,), bold=True)
            if title_lines:
                writer.skip_row()
            writer.write_row([column.title for column in columns], bold=True)
            write_row = writer.write_row
            for row in rows:
                write_row(row)
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(count)
            if totals is not None:
                writer.write_row([None if value == "" else value for value in totals], bold=True)
        except BaseException:
            workbook.abandon()
            raise
        workbook.close()
    if progress is not None:
        progress(count)
    return count


def write_csv(
    path: Path,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    count = 0
    with atomic_file(path) as temporary:
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([column.title for column in columns])
            for row in rows:
                writer.writerow(["" if value is None else _csv_text(value) for value in row])
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(count)
    if progress is not None:
        progress(count)
    return count


def _csv_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: neutralise it.
    if text[:1] in ("=", "+", "@") or (text[:1] == "-" and not _is_number(text)):
        return "'" + text
    return text


csv_cell = _csv_text  # one CSV cell as this module writes it (other writers of CSV text use it too)


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
