"""A small streaming .xlsx writer: one sheet, rows written as they come, constant memory.

Why our own: the report exports write 100,000 rows x 18 columns, and a
general-purpose writer spends most of that time in per-cell Python calls
(about 10 s). Here each row becomes one XML string built in a single loop and
goes straight into a deflate stream, so the cost is the string building and
the compression (about a quarter of that).

What it writes (ECMA-376, the parts Excel, LibreOffice, openpyxl and
calamine need): text as inline strings (never a formula, whatever it starts
with), numbers, booleans, dates and times as Excel serial numbers with a date
format, blank cells left out. A fixed style table: bold, and the number
formats of the column kinds (money, units, integer, date, datetime), each
also in bold for a totals row.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import quoteattr

# Number formats by column kind; (numFmtId, format code). 164 on are custom ids.
NUMBER_FORMATS = {
    "money": (164, "#,##0.00##"),
    "units": (165, "#,##0.0"),
    "integer": (1, "0"),  # built in
    "date": (166, "yyyy-mm-dd"),
    "datetime": (167, "yyyy-mm-dd hh:mm:ss"),
}
KINDS = tuple(NUMBER_FORMATS)
# Style (cellXfs) ids: 0 plain, 1 bold, then per kind a plain and a bold one.
PLAIN, BOLD = 0, 1
STYLE = {kind: 2 + 2 * index for index, kind in enumerate(KINDS)}
BOLD_STYLE = {kind: 3 + 2 * index for index, kind in enumerate(KINDS)}

EXCEL_EPOCH = date(1899, 12, 30).toordinal()  # serial 0 in the 1900 date system (with Excel's leap-year quirk)
MAX_TEXT = 32767  # Excel's limit on one cell's text
FLUSH_BYTES = 1 << 20

# Text that needs more than copying: XML specials, characters XML 1.0 forbids, edge spaces.
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|^\s|\s$")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def excel_serial(value: datetime | date) -> float | int:
    """Days since 1899-12-30, the time of day as the fraction (Excel's 1900 date system)."""
    days = value.toordinal() - EXCEL_EPOCH
    if type(value) is date:
        return days
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    return days + seconds / 86400


def sheet_title(name: str) -> str:
    """A valid worksheet name: at most 31 characters, none of [ ] : * ? / \\."""
    name = _SHEET_NAME_FORBIDDEN.sub(" ", name).strip().strip("'")[:31].strip()
    return name or "Sheet1"


def _text(value: str) -> tuple[str, bool]:
    """(XML-escaped text, whether it must keep its edge spaces)."""
    if len(value) > MAX_TEXT:
        value = value[:MAX_TEXT]
    value = _FORBIDDEN.sub("", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value, value[:1].isspace() or value[-1:].isspace()


def _number(value) -> str:
    text = str(value)
    if "E" in text or "e" in text or "n" in text:  # 1E+2, inf, nan: Excel wants plain digits
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{value} cannot be written to a spreadsheet cell")
        text = repr(number)
    return text


class StreamingSheet:
    """Writes rows of one worksheet into an open .xlsx zip; see write_xlsx_file."""

    def __init__(self, handle, kinds: Sequence[str]):
        self._handle = handle
        self._letters = [column_letter(index) for index in range(len(kinds))]
        self._styles = [STYLE.get(kind, PLAIN) for kind in kinds]
        self._bold_styles = [BOLD_STYLE.get(kind, BOLD) for kind in kinds]
        self._buffer: list[str] = []
        self._size = 0
        self.row_number = 0
        self.widest = 0  # the most cells in a row

    def write_row(self, values: Sequence[Any], bold: bool = False) -> None:
        """Append one row: str -> text, numbers -> numbers, date/datetime -> serial, None or "" -> blank."""
        self.row_number += 1
        if len(values) > self.widest:
            self.widest = len(values)
        number = str(self.row_number)
        styles = self._bold_styles if bold else self._styles
        letters = self._letters
        cells = [f'<row r="{number}">']
        for index, value in enumerate(values):
            kind = type(value)
            if kind is str:
                if not value:
                    continue  # an empty text is a blank cell, as Excel itself stores it
                if _SPECIAL.search(value) or len(value) > MAX_TEXT:
                    value, keep_spaces = _text(value)
                    space = ' xml:space="preserve"' if keep_spaces else ""
                    cells.append(f'<c r="{letters[index]}{number}" s="{styles[index]}" t="inlineStr">'
                                 f'<is><t{space}>{value}</t></is></c>')
                else:
                    cells.append(f'<c r="{letters[index]}{number}" s="{styles[index]}" t="inlineStr">'
                                 f'<is><t>{value}</t></is></c>')
            elif value is None:
                continue
            elif kind is Decimal or kind is int or kind is float:
                cells.append(f'<c r="{letters[index]}{number}" s="{styles[index]}"><v>{_number(value)}</v></c>')
            elif kind is datetime:
                cells.append(f'<c r="{letters[index]}{number}" s="{styles[index]}">'
                             f'<v>{excel_serial(value)!r}</v></c>')
            else:
                cells.append(self._other(letters[index] + number, styles[index], value))
        cells.append("</row>")
        row = "".join(cells)
        self._buffer.append(row)
        self._size += len(row)
        if self._size >= FLUSH_BYTES:
            self.flush()

    @staticmethod
    def _other(reference: str, style: int, value: Any) -> str:
        if isinstance(value, bool):
            return f'<c r="{reference}" s="{style}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, (int, float, Decimal)):
            return f'<c r="{reference}" s="{style}"><v>{_number(value)}</v></c>'
        if isinstance(value, (date, datetime)):
            return f'<c r="{reference}" s="{style}"><v>{excel_serial(value)!r}</v></c>'
        if isinstance(value, time):
            value = value.isoformat()
        text, keep_spaces = _text(str(value))
        space = ' xml:space="preserve"' if keep_spaces else ""
        return f'<c r="{reference}" s="{style}" t="inlineStr"><is><t{space}>{text}</t></is></c>'

    def skip_row(self) -> None:
        self.row_number += 1

    def flush(self) -> None:
        if self._buffer:
            self._handle.write("".join(self._buffer).encode("utf-8"))
            self._buffer = []
            self._size = 0


class XlsxFile:
    """An .xlsx with one worksheet: open, write rows, close.

    `widths` and `kinds` describe the columns (kind: text, money, units,
    integer, date, datetime). Rows must be written in order.
    """

    def __init__(self, path: Path, sheet: str, widths: Sequence[float], kinds: Sequence[str],
                 compresslevel: int = 1):
        self._path = path
        self._compresslevel = compresslevel
        self._sheet_name = sheet_title(sheet)
        self._widths = list(widths)
        self._kinds = list(kinds)
        # The rows go to a scratch file first: the sheet must begin with its dimension (readers
        # such as openpyxl's read-only mode size every row by it), known only at the end.
        self._rows = tempfile.TemporaryFile(dir=path.parent)
        self.sheet = StreamingSheet(self._rows, self._kinds)

    def _sheet_start(self) -> str:
        columns = "".join(
            f'<col min="{index + 1}" max="{index + 1}" width="{width + 0.71:.2f}" customWidth="1"'
            f'{f" style={chr(34)}{STYLE[kind]}{chr(34)}" if kind in STYLE else ""}/>'
            for index, (width, kind) in enumerate(zip(self._widths, self._kinds))
        )
        last = max(self.sheet.row_number, 1)
        dimension = f"A1:{column_letter(max(self.sheet.widest - 1, 0))}{last}"
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f'<dimension ref="{dimension}"/>'
                '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
                '<sheetFormatPr defaultRowHeight="15"/>'
                + (f"<cols>{columns}</cols>" if columns else "") + "<sheetData>")

    def close(self) -> None:
        self.sheet.flush()
        with zipfile.ZipFile(self._path, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=self._compresslevel) as archive:
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as stream:
                stream.write(self._sheet_start().encode("utf-8"))
                self._rows.seek(0)
                shutil.copyfileobj(self._rows, stream, FLUSH_BYTES)
                stream.write(b"</sheetData><pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" "
                             b"header=\"0.3\" footer=\"0.3\"/></worksheet>")
            self._rows.close()
            parts = {
                "[Content_Types].xml": CONTENT_TYPES,
                "_rels/.rels": ROOT_RELS,
                "docProps/app.xml": APP,
                "docProps/core.xml": CORE,
                "xl/workbook.xml": WORKBOOK.replace("{sheet}", quoteattr(self._sheet_name)),
                "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
                "xl/styles.xml": styles_xml(),
            }
            for name, content in parts.items():
                archive.writestr(name, content)

    def abandon(self) -> None:
        """Drop the rows written so far (after a failure or a cancel; the caller removes the file)."""
        self._rows.close()


def styles_xml() -> str:
    custom = "".join(f'<numFmt numFmtId="{number}" formatCode={quoteattr(code)}/>'
                     for number, code in NUMBER_FORMATS.values() if number >= 164)
    count = sum(1 for number, _ in NUMBER_FORMATS.values() if number >= 164)
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>']
    for kind in KINDS:
        number = NUMBER_FORMATS[kind][0]
        xfs.append(f'<xf numFmtId="{number}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>')
        xfs.append(f'<xf numFmtId="{number}" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" '
                   f'applyFont="1"/>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<numFmts count="{count}">{custom}</numFmts>'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
            'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '</Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
    'Target="docProps/app.xml"/>'
    '</Relationships>'
)
APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    '<Application>stron-tui</Application></Properties>'
)
CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>stron-tui</dc:creator>'
    '</cp:coreProperties>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<bookViews><workbookView/></bookViews>'
    '<sheets><sheet name={sheet} sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    '</Relationships>'
)
