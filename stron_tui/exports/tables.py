"""Streaming table writers (Excel and CSV): constant memory whatever the row count.

`rows` is any iterable (usually a server-side cursor); `progress(done)` is
called every few thousand rows and may raise ExportCancelled to stop.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from stron_tui.exports.files import atomic_file

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
    """Write rows to .xlsx with xlsxwriter's constant-memory mode; returns the row count."""
    import xlsxwriter

    count = 0
    with atomic_file(path) as temporary:
        workbook = xlsxwriter.Workbook(str(temporary), {"constant_memory": True, "strings_to_formulas": False,
                                                         "strings_to_urls": False})
        try:
            worksheet = workbook.add_worksheet(sheet[:31])
            bold = workbook.add_format({"bold": True})
            formats = {
                "money": workbook.add_format({"num_format": "#,##0.00##"}),
                "units": workbook.add_format({"num_format": "#,##0.0"}),
                "integer": workbook.add_format({"num_format": "0"}),
                "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
                "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            }
            for index, column in enumerate(columns):
                worksheet.set_column(index, index, column.width, formats.get(column.kind))
            row_index = 0
            for line in title_lines:
                worksheet.write_string(row_index, 0, line, bold)
                row_index += 1
            if title_lines:
                row_index += 1
            for index, column in enumerate(columns):
                worksheet.write_string(row_index, index, column.title, bold)
            row_index += 1
            cell_formats = [formats.get(column.kind) for column in columns]
            for row in rows:
                for index, value in enumerate(row):
                    _write(worksheet, row_index, index, value, cell_formats[index])
                row_index += 1
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(count)
            if totals is not None:
                for index, value in enumerate(totals):
                    if value is not None and value != "":
                        _write(worksheet, row_index, index, value, bold)
        finally:
            workbook.close()
    if progress is not None:
        progress(count)
    return count


def _write(worksheet, row: int, column: int, value: Any, cell_format) -> None:
    if type(value) is str:  # the common case first: most cells are text
        worksheet.write_string(row, column, value, cell_format)
    elif value is None:
        worksheet.write_blank(row, column, None, cell_format)
    elif isinstance(value, bool):
        worksheet.write_boolean(row, column, value, cell_format)
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        worksheet.write_number(row, column, float(value), cell_format)
    elif isinstance(value, datetime):
        worksheet.write_datetime(row, column, value.replace(tzinfo=None), cell_format)
    elif isinstance(value, date):
        worksheet.write_datetime(row, column, datetime(value.year, value.month, value.day), cell_format)
    else:
        # Always a string cell: text that looks like a formula is never evaluated.
        worksheet.write_string(row, column, str(value), cell_format)


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


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
