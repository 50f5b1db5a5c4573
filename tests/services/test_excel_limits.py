"""Spreadsheets cannot kill the process: a sheet's declared and real extent is measured from the file
itself, in bounded reads, and refused before calamine (which allocates a cell for every position of the
used range) ever sees it. If a check here let a file through, calamine would abort the test process."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import func, select

from stron_tui.db.models import Customer
from stron_tui.services import excel_io, libraries

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                 'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                 'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                 '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
             '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
             '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def _crafted(path: Path, dimension: str, rows: str) -> Path:
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             f'spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def _header() -> str:
    return '<row r="1"><c r="A1" t="inlineStr"><is><t>Customer ID</t></is></c>' \
           '<c r="B1" t="inlineStr"><is><t>Name</t></is></c></row>'


def _customers(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count(Customer.id)))


def _refused(ctx, admin, path: Path, message: str) -> None:
    before = _customers(ctx)
    with pytest.raises(excel_io.ImportRejected, match=message):
        excel_io.import_library(ctx, admin, "customers", path)
    assert _customers(ctx) == before


def test_one_cell_at_xfd1000000_is_refused_before_the_reader_sees_it(ctx, admin, tmp_path):
    path = _crafted(tmp_path / "far.xlsx", "A1:XFD1000000",
                    _header() + '<row r="1000000"><c r="XFD1000000"><v>1</v></c></row>')
    assert path.stat().st_size < 2048
    _refused(ctx, admin, path, "reaches column 16,384")


def test_a_declared_dimension_alone_is_refused(ctx, admin, tmp_path):
    path = _crafted(tmp_path / "declared.xlsx", "A1:B1048576", _header())
    _refused(ctx, admin, path, "reaches row 1,048,576")


def test_a_small_declared_dimension_does_not_hide_far_cells(ctx, admin, tmp_path):
    path = _crafted(tmp_path / "lying.xlsx", "A1:B2",
                    _header() + '<row r="2"><c r="A2"><v>1</v></c></row>'
                    '<row r="1048576"><c r="B1048576"><v>1</v></c></row>')
    _refused(ctx, admin, path, "reaches row 1,048,576")


def test_cells_without_references_are_counted_by_position(ctx, admin, tmp_path):
    path = _crafted(tmp_path / "wide.xlsx", "A1", "<row>" + "<c><v>1</v></c>" * 300 + "</row>")
    _refused(ctx, admin, path, "reaches column 300")


def test_a_sparse_sheet_is_refused(ctx, admin, tmp_path):
    path = _crafted(tmp_path / "sparse.xlsx", "A1:B2",
                    _header() + '<row r="900000"><c r="L900000"><v>1</v></c></row>')
    _refused(ctx, admin, path, "3 cells spread over 900,000 rows")


def test_shared_strings_declaring_billions_are_refused(ctx, admin, tmp_path):
    """uniqueCount="4000000000" made calamine reserve 96 GB and abort, before reading a single string."""
    path = _crafted(tmp_path / "strings.xlsx", "A1:B1", _header())
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
               '2006/main" count="2" uniqueCount="4000000000"><si><t>Customer ID</t></si><si><t>Name</t></si></sst>')
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", strings)
    _refused(ctx, admin, path, "says it holds 4,000,000,000 texts but holds 2")


def test_prefixed_tags_are_measured_too(ctx, admin, tmp_path):
    path = tmp_path / "prefixed.xlsx"
    _crafted(path, "A1", "")
    sheet = ('<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
             '<x:row r="5"><x:c r="ZZ5"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/worksheets/sheet2.xml", sheet)
    with zipfile.ZipFile(path) as archive:
        size = excel_io.measure_sheet(archive, "xl/worksheets/sheet2.xml")
    assert (size.rows, size.columns, size.cells) == (5, 702, 1)


def test_a_real_library_file_passes_the_checks(ctx, admin, tmp_path):
    path = tmp_path / "customers.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Customers")
    headers = [spec.header for spec in libraries.library("customers").fields]
    sheet.write_row(0, 0, headers)
    for row in range(1, 201):
        sheet.write_string(row, headers.index("Customer ID"), f"LIM{row:04d}")
        sheet.write_string(row, headers.index("Name"), f"Customer {row}")
    workbook.close()
    with zipfile.ZipFile(path) as archive:
        size = excel_io.measure_sheet(archive, "xl/worksheets/sheet1.xml")
    assert (size.rows, size.declared_rows, size.cells) == (201, 201, len(headers) + 400)
    report = excel_io.import_library(ctx, admin, "customers", path)
    assert report.ok and report.created == 200


def test_a_sheet_whose_zip_header_understates_its_size_is_refused(ctx, admin, tmp_path):
    """The zip directory says the sheet unpacks to 200 bytes; it really holds 1,000 rows. The size in the
    header is never trusted: reading the member to its end checks it, and the file is refused."""
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>C{n}</t></is></c></row>' for n in range(2, 1002))
    path = _crafted(tmp_path / "understated.xlsx", "A1:B1001", _header() + rows)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    data[info.header_offset + 22:info.header_offset + 26] = (200).to_bytes(4, "little")  # local header
    central = data.index(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(info.filename)] != info.filename.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24:central + 28] = (200).to_bytes(4, "little")  # central directory
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 200
    _refused(ctx, admin, path, "not a valid .xlsx file")
