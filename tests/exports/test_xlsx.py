"""The streaming Excel writer: files openpyxl and calamine read back cell for cell."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from stron_tui.exports.files import ExportCancelled
from stron_tui.exports.tables import Column, write_xlsx
from stron_tui.exports.xlsx import column_letter, excel_serial, sheet_title

COLUMNS = [Column("When", 17, "datetime"), Column("Day", 11, "date"), Column("Customer", 18),
           Column("Meter", 12), Column("Paid", 10, "money"), Column("Units", 8, "units"),
           Column("Sales", 6, "integer"), Column("Note", 20)]
ROWS = [
    (datetime(2024, 3, 5, 9, 30, 15), date(2024, 3, 5), "Ada & Sons <Ltd>", "01234567897", Decimal("12.50"),
     Decimal("25.0"), 3, None),
    (datetime(2024, 3, 5, 23, 59, 59, tzinfo=timezone(timedelta(hours=1))), date(1999, 12, 31),
     "=HYPERLINK(\"http://x\")", "00000000007", Decimal("0.00"), Decimal("1E+1"), 0, "  padded  "),
    (datetime(2024, 2, 29), date(2024, 2, 29), "Bad\x01control\x1f chars", "", Decimal("-3.1"),
     Decimal("0"), 10**12, True),
]


def _write(path, **options):
    return write_xlsx(path, COLUMNS, ROWS, sheet="Receipts: March [test]",
                      title_lines=["Receipt Report", "Period: March"],
                      totals=("Total", None, "", "", Decimal("9.40"), Decimal("35.0"), 3, None), **options)


def test_openpyxl_reads_every_cell_with_its_type_and_format(tmp_path):
    path = tmp_path / "report.xlsx"
    assert _write(path) == 3
    workbook = load_workbook(path)
    sheet = workbook.active
    assert workbook.sheetnames == ["Receipts  March  test"]
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Receipt Report" and rows[1][0] == "Period: March" and rows[2] == (None,) * 8
    assert rows[3] == tuple(column.title for column in COLUMNS)
    assert rows[4] == (datetime(2024, 3, 5, 9, 30, 15), datetime(2024, 3, 5), "Ada & Sons <Ltd>", "01234567897",
                       12.5, 25, 3, None)
    # Local wall-clock time is written as is; text starting with = stays text; edge spaces stay.
    assert rows[5] == (datetime(2024, 3, 5, 23, 59, 59), datetime(1999, 12, 31), "=HYPERLINK(\"http://x\")",
                       "00000000007", 0, 10, 0, "  padded  ")
    assert rows[6] == (datetime(2024, 2, 29), datetime(2024, 2, 29), "Badcontrol chars", None, -3.1, 0,
                       10**12, True)
    assert rows[7] == ("Total", None, None, None, 9.4, 35, 3, None)
    assert len(rows) == 8
    assert sheet["C6"].data_type == "s"  # a string cell, never a formula
    assert [sheet[f"{letter}5"].number_format for letter in "ABEFG"] == [
        "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd", "#,##0.00##", "#,##0.0", "0"]
    assert sheet["A1"].font.b and sheet["A4"].font.b and sheet["E8"].font.b and not sheet["E5"].font.b
    assert sheet["E8"].number_format == "#,##0.00##"
    assert sheet.column_dimensions["C"].width == pytest.approx(18.71)
    read_only = load_workbook(path, read_only=True)
    assert [len(row) for row in read_only.active.iter_rows(values_only=True)] == [8] * 8  # sized by the dimension
    read_only.close()


def test_calamine_reads_the_same_values(tmp_path):
    path = tmp_path / "report.xlsx"
    _write(path)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[4][2:7] == ["Ada & Sons <Ltd>", "01234567897", 12.5, 25.0, 3.0]
    assert rows[5][7] == "  padded  " and rows[7][0] == "Total"


def test_the_package_holds_the_parts_excel_needs(tmp_path):
    path = tmp_path / "report.xlsx"
    _write(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
            "xl/styles.xml", "xl/worksheets/sheet1.xml"} <= names
    assert '<dimension ref="A1:H8"/>' in sheet and "\x01" not in sheet


def test_cancel_leaves_no_file(tmp_path):
    path = tmp_path / "big.xlsx"

    def cancel(done):
        raise ExportCancelled("stopped")

    rows = ((date(2024, 1, 1), None, f"C{n}", "", Decimal(n), Decimal(1), n, "") for n in range(10_000))
    with pytest.raises(ExportCancelled):
        write_xlsx(path, COLUMNS, rows, progress=cancel)
    assert list(tmp_path.iterdir()) == []


def test_helpers():
    assert [column_letter(n) for n in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]
    assert excel_serial(date(1900, 3, 1)) == 61 and excel_serial(date(2024, 1, 1)) == 45292
    assert excel_serial(datetime(2024, 1, 1, 12)) == 45292.5
    assert sheet_title("Customer Payment Report: S1 Market Hall") == "Customer Payment Report  S1 Mar"
    assert sheet_title("???") == "Sheet1"
