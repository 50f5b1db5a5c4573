"""Excel for every library: export the current search, import all-or-nothing, templates.

Import reads .xlsx with python-calamine (numbers come back as floats and
midnight datetimes as dates: coerced before parsing), checks every row with
the same parsing the forms use, and writes in ONE transaction. Rows are
handled in chunks so memory stays flat; writing starts while later chunks are
still being checked, but a single bad row anywhere rolls everything back and
the operator gets the full list of (row, column, reason).

Export then import of the same file changes nothing: records are matched by
their code / number and updated only when a value differs.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from sqlalchemy.exc import IntegrityError

from stron_tui.errors import StronError, ValidationError
from stron_tui.exports.files import ExportCancelled, export_path, upload_directory
from stron_tui.exports.tables import Column, write_xlsx
from stron_tui.services import audit
from stron_tui.services import libraries as L
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import fold

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_UNPACKED_BYTES = 800 * 1024 * 1024  # a million rows of a library sheet unpack to ~300 MB
MAX_ERRORS = 1000
CHUNK = 2000
# What the first sheet may span before a reader is given it: the reader allocates a cell for every position
# in the used range (rows x columns), so one cell at XFD1000000 would cost it gigabytes.
MAX_COLUMNS = 64  # the widest library has 12
MAX_CELLS = 16_000_000  # a full million rows of the widest library, with room
SPARSE_FACTOR = 20  # a range this many times larger than its real cells (past a million) is refused
_READ_CHUNK = 1 << 20
_MAX_PART_BYTES = 4 * 1024 * 1024  # workbook.xml and its relationships are a few KB


class ImportRejected(StronError):
    """The file as a whole cannot be imported (not xlsx, too large, wrong columns)."""

    code = "import_rejected"


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet row number, as Excel shows it
    column: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    library: str
    path: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: tuple[RowError, ...] = ()
    more_errors: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            extra = " (first 1,000 shown)" if self.more_errors else ""
            return (f"Nothing was imported: {len(self.errors)} problem(s) in {self.rows} row(s){extra}. "
                    "Fix them and import the file again.")
        return f"Imported {self.rows} row(s): {self.created} new, {self.updated} changed, {self.unchanged} unchanged."


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int


@dataclass(frozen=True)
class Upload:
    name: str
    path: Path
    size: int
    modified: datetime  # UTC


# Sessions whose operator is not at the server: they import only what they uploaded (SFTP /upload).
REMOTE_SOURCES = frozenset({"ssh", "api"})


def uploaded_files(ctx: AppContext, actor: Actor) -> list[Upload]:
    """The .xlsx files in the operator's upload folder, newest first (what the import screen lists)."""
    actor.require("basedata.import")
    from datetime import timezone

    folder = upload_directory(ctx.settings, actor.user_id)
    found = []
    for path in folder.iterdir():
        if path.suffix.lower() == ".xlsx" and path.is_file() and not path.is_symlink():
            info = path.stat()
            found.append(Upload(path.name, path, info.st_size, datetime.fromtimestamp(info.st_mtime, timezone.utc)))
    return sorted(found, key=lambda upload: (upload.modified, upload.name), reverse=True)


def import_source(ctx: AppContext, actor: Actor, given: Path | str) -> Path:
    """The file an import reads: a bare name is in the operator's upload folder; a remote session (SSH)
    may only read from there, never another path on the server."""
    text = str(given).strip()
    upload = upload_directory(ctx.settings, actor.user_id)
    path = Path(text).expanduser()
    if not path.is_absolute() and len(path.parts) == 1:
        path = upload / path
    if actor.source in REMOTE_SOURCES and path.resolve().parent != upload.resolve():
        raise ImportRejected(f"Import a file from your upload folder: put it there over SFTP (/upload, same user "
                             f"and server as this session), then choose it here. {text} is not there.")
    return path


# ---------------------------------------------------------------- templates


def columns_for(lib: L.Library) -> list[Column]:
    return [Column(spec.header, spec.width, "text") for spec in lib.fields]


def write_template(name: "str | L.Library", target: BinaryIO | Path) -> None:
    """A documented template: the header row, one example row, and a sheet explaining each column.

    `name`: a library's name, or a sheet described as a library is (title, fields, key_field)."""
    import xlsxwriter

    lib = L.library(name) if isinstance(name, str) else name
    buffer = io.BytesIO() if not isinstance(target, Path) else None
    workbook = xlsxwriter.Workbook(buffer if buffer is not None else str(target),
                                   {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    text = workbook.add_format({"num_format": "@"})
    sheet = workbook.add_worksheet(lib.title[:31])
    for index, spec in enumerate(lib.fields):
        sheet.set_column(index, index, max(spec.width, len(spec.header) + 2), text)
        sheet.write_string(0, index, spec.header, bold)
        example = spec.example or (L.as_text(spec, spec.default) if spec.default is not None else "")
        sheet.write_string(1, index, example)
    help_sheet = workbook.add_worksheet("How to fill")
    help_sheet.set_column(0, 0, 22)
    help_sheet.set_column(1, 1, 12)
    help_sheet.set_column(2, 2, 90)
    help_sheet.write_row(0, 0, ["Column", "Required", "What to enter"], bold)
    for row, spec in enumerate(lib.fields, start=1):
        help_sheet.write_string(row, 0, spec.header)
        help_sheet.write_string(row, 1, "yes" if spec.required else "no")
        help_sheet.write_string(row, 2, describe_field(spec))
    last = len(lib.fields) + 2
    help_sheet.write_string(last, 0, "Rules", bold)
    rules = [
        f"The first sheet is imported; row 1 holds the column titles (any order). Replace the example row.",
        f"Records are matched by {lib.fields_by_name[lib.key_field].header}: an existing one is updated, a new one added.",
        "If any row has a problem nothing is imported and every problem is listed with its row and column.",
        f"At most {MAX_ROWS:,} rows and {MAX_FILE_BYTES // (1024 * 1024)} MB per file. Keep codes and numbers as text.",
    ]
    for offset, rule in enumerate(rules, start=1):
        help_sheet.write_string(last + offset, 0, rule)
    workbook.close()
    if buffer is not None:
        target.write(buffer.getvalue())


def describe_field(spec: L.Field) -> str:
    parts = []
    if spec.choices and spec.labels:
        parts.append("one of: " + ", ".join(f"{choice} ({label})" for choice, label in zip(spec.choices, spec.labels)))
    elif spec.choices:
        parts.append("one of: " + ", ".join(spec.choices))
    elif spec.kind == "bool":
        parts.append("y or n")
    elif spec.kind == "int":
        parts.append("a whole number")
    elif spec.kind == "decimal":
        parts.append("a number")
    elif spec.kind == "percent":
        parts.append("a percentage, e.g. 7.5 for 7.5 %")
    elif spec.kind == "email":
        parts.append("an e-mail address")
    elif spec.kind == "phone":
        parts.append("a phone number with its country code (E.164), e.g. +2348025550101; keep it as text")
    else:
        parts.append(f"text, at most {spec.max_length} characters")
    if spec.default is not None and not spec.required:
        parts.append(f"blank means {L.as_text(spec, spec.default)}")
    if spec.note:
        parts.append(spec.note)
    if spec.example:
        parts.append(f"e.g. {spec.example}")
    return "; ".join(parts)


# ---------------------------------------------------------------- export


def export_library(ctx: AppContext, actor: Actor, name: str, text: str = "", *, sort: str | None = None,
                   descending: bool = False, progress: Callable[[int], None] | None = None,
                   path: Path | None = None) -> ExportResult:
    """Write the current search result to an .xlsx in the export directory (streamed, constant memory)."""
    actor.require("basedata.export")
    lib = L.library(name)
    target = path or export_path(ctx.settings, lib.name, "xlsx", user_id=actor.user_id)
    with ctx.db.read_session() as session:
        stream = L.stream_values(session, lib, text, sort, descending, raw_rows=True)
        rows = lib.export_rows(next(stream), stream)
        count = write_xlsx(target, columns_for(lib), rows, sheet=lib.title, progress=progress)
    with ctx.db.session() as session:
        audit.record(session, actor, f"{lib.name}.export", entity=lib.entity, summary=f"exported {count} rows to {target.name}",
                     detail={"search": text, "rows": count, "file": str(target)})
    return ExportResult(target, count)


def export_errors(ctx: AppContext, actor: Actor, report: ImportReport) -> Path:
    """The per-row error list of a refused import, as its own .xlsx."""
    target = export_path(ctx.settings, f"{report.library}-import-errors", "xlsx", user_id=actor.user_id)
    write_xlsx(target, [Column("Row", 8, "integer"), Column("Column", 20), Column("Problem", 90)],
               ((error.row, error.column, error.reason) for error in report.errors),
               sheet="Import problems", title_lines=[f"Problems in {report.path}"])
    return target


# ---------------------------------------------------------------- reading


def check_file(path: Path) -> None:
    if not path.exists() or not path.is_file():
        raise ImportRejected(f"There is no file {path}.")
    if path.suffix.lower() != ".xlsx":
        raise ImportRejected(f"{path.name} is not an Excel .xlsx file; save it as .xlsx first.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ImportRejected(f"{path.name} is {size / 1048576:.0f} MB; the limit is {MAX_FILE_BYTES // 1048576} MB. "
                             "Split it into smaller files.")
    if not zipfile.is_zipfile(path):
        raise ImportRejected(f"{path.name} is not a valid .xlsx file (it may be damaged or an old .xls).")
    # A small file can unpack to gigabytes (a "zip bomb"): look at the sizes before reading anything.
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise ImportRejected(f"{path.name} is not a valid .xlsx file (it may be damaged or an old .xls).") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportRejected(f"{path.name} unpacks to {unpacked / 1048576:,.0f} MB, more than a real library file "
                             f"({MAX_UNPACKED_BYTES // 1048576} MB); it is refused.")


_COLUMN_AND_ROW = re.compile(r"\$?([A-Za-z]{1,4})\$?([0-9]{1,9})$")
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(dimension|row|c)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_DIMENSION_REF = re.compile(rb"""\sref\s*=\s*["']([^"']*)["']""")


def _cell_position(reference: str) -> tuple[int, int] | None:
    """(row, column) of an A1 reference, 1-based; None if it is not one."""
    match = _COLUMN_AND_ROW.match(reference.strip())
    if not match:
        return None
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - 64
    return int(match.group(2)), column


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    """A small part of the package, read with a bound whatever its declared size."""
    with archive.open(name) as member:
        data = member.read(_MAX_PART_BYTES + 1)
    if len(data) > _MAX_PART_BYTES:
        raise ImportRejected(f"The part {name} of this file is far larger than a workbook's; it is refused.")
    return data


def _first_sheet_member(archive: zipfile.ZipFile) -> list[str]:
    """The member of the first sheet (the one imported), or every worksheet when it can't be told."""
    names = set(archive.namelist())
    worksheets = sorted(name for name in names if name.startswith("xl/worksheets/") and name.endswith(".xml"))
    try:
        workbook = _read_part(archive, "xl/workbook.xml")
        relations = _read_part(archive, "xl/_rels/workbook.xml.rels")
    except KeyError:
        return worksheets
    sheet = re.search(rb"<(?:\w+:)?sheet\s[^>]*?\b(?:\w+:)?id\s*=\s*[\"']([^\"']+)[\"']", workbook)
    if sheet is None:
        return worksheets
    for relation in re.finditer(rb"<(?:\w+:)?Relationship\s[^>]*>", relations):
        tag = relation.group()
        if re.search(rb"""\sId\s*=\s*["']""" + re.escape(sheet.group(1)) + rb"""["']""", tag):
            target = re.search(rb"""\sTarget\s*=\s*["']([^"']+)["']""", tag)
            if target:
                text = target.group(1).decode("utf-8", "replace")
                name = text.lstrip("/") if text.startswith("/") else "xl/" + text
                if name in names:
                    return [name]
    return worksheets


@dataclass(frozen=True)
class SheetSize:
    declared_rows: int
    declared_columns: int
    rows: int  # the last row that holds a cell
    columns: int  # the last column that holds a cell
    cells: int  # cells actually present


def _streamed_tags(archive: zipfile.ZipFile, name: str, pattern: re.Pattern) -> Iterator[re.Match]:
    """The tags `pattern` finds in one member, read in bounded chunks (a tag cut by a chunk's end is kept
    for the next one); past MAX_UNPACKED_BYTES, whatever the member's header says, the file is refused."""
    unpacked = 0
    pending = b""
    with archive.open(name) as member:
        while True:
            chunk = member.read(_READ_CHUNK)
            unpacked += len(chunk)
            if unpacked > MAX_UNPACKED_BYTES:
                raise ImportRejected(f"The part {name} unpacks to more than {MAX_UNPACKED_BYTES // 1048576} MB; "
                                     "it is refused.")
            data = pending + chunk
            end = data.rfind(b">") + 1 if chunk else len(data)
            yield from pattern.finditer(data, 0, end)
            pending = data[end:]
            if len(pending) > _READ_CHUNK:
                # More than a megabyte without a '>': no spreadsheet part looks like that.
                raise ImportRejected(f"The part {name} is not valid spreadsheet XML; it is refused.")
            if not chunk:
                return


def measure_sheet(archive: zipfile.ZipFile, name: str) -> SheetSize:
    """The declared <dimension> and the real extent and count of <c> cells of one sheet, read as a stream
    in bounded chunks: nothing is allocated by what the file says about itself."""
    declared = (0, 0)
    last_row = last_column = cells = 0
    row = column = 0
    for tag in _streamed_tags(archive, name, _TAG):
        kind, attributes = tag.group(1), tag.group(2)
        if kind == b"c":
            reference = _REF.search(attributes)
            position = _cell_position(reference.group(1).decode("ascii", "replace")) if reference else None
            if position is None:
                column += 1  # a cell without a reference follows the previous one
            else:
                row, column = position
            cells += 1
            last_row, last_column = max(last_row, row), max(last_column, column)
        elif kind == b"row":
            reference = _REF.search(attributes)
            row = int(reference.group(1)) if reference and reference.group(1).isdigit() else row + 1
            column = 0
        else:
            reference = _DIMENSION_REF.search(attributes)
            corner = reference.group(1).decode("ascii", "replace").split(":")[-1] if reference else ""
            declared = _cell_position(corner) or declared
    return SheetSize(declared[0], declared[1], last_row, last_column, cells)


_SHARED_STRINGS_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(sst|si)(?=[\s/>])([^>]*)>")
_UNIQUE_COUNT = re.compile(rb"""\suniqueCount\s*=\s*["']\s*([0-9]{1,20})\s*["']""")


def check_shared_strings(archive: zipfile.ZipFile, file_name: str) -> None:
    """The shared strings part says how many different strings it holds (uniqueCount), and a reader
    reserves room for that many before reading one (4,000,000,000 asked calamine for 96 GB): the
    declared number may not exceed the strings really there."""
    names = [name for name in archive.namelist() if name.lower() == "xl/sharedstrings.xml"]
    for name in names:
        declared = 0
        strings = 0
        for tag in _streamed_tags(archive, name, _SHARED_STRINGS_TAG):
            if tag.group(1) == b"si":
                strings += 1
            else:
                found = _UNIQUE_COUNT.search(tag.group(2))
                declared = int(found.group(1)) if found else 0
        if declared > strings + 1000:  # a little slack for writers that count loosely
            raise ImportRejected(f"{file_name} says it holds {declared:,} texts but holds {strings:,}; "
                                 "it is damaged or made to harm. Save it again from Excel.")


def check_sheet_size(path: Path) -> None:
    """Refuse a first sheet whose declared or real extent is beyond what a library file needs,
    before any spreadsheet reader sees it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = _first_sheet_member(archive)
            if not members:
                raise ImportRejected(f"{path.name} holds no worksheet; start from the template.")
            sizes = [measure_sheet(archive, name) for name in members]
            check_shared_strings(archive, path.name)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        # A member whose data does not match its header (size or checksum) ends up here.
        raise ImportRejected(f"{path.name} is not a valid .xlsx file (it may be damaged).") from None
    for size in sizes:
        rows, columns = max(size.rows, size.declared_rows), max(size.columns, size.declared_columns)
        if rows - 1 > MAX_ROWS:
            raise ImportRejected(f"{path.name} reaches row {rows:,}; the limit is {MAX_ROWS:,} rows. Split the file "
                                 "(or delete the far rows it says it uses).")
        if columns > MAX_COLUMNS:
            raise ImportRejected(f"{path.name} reaches column {columns:,}; a library file has at most {MAX_COLUMNS} "
                                 "columns. Delete the far columns and save it again.")
        area = max(size.rows * size.columns, size.declared_rows * size.declared_columns)
        if area > MAX_CELLS:
            raise ImportRejected(f"{path.name} spans {area:,} cells; the limit is {MAX_CELLS:,}. Split the file.")
        if size.rows * size.columns > 1_000_000 and size.rows * size.columns > SPARSE_FACTOR * max(1, size.cells):
            raise ImportRejected(f"{path.name} holds {size.cells:,} cells spread over {size.rows:,} rows and "
                                 f"{size.columns:,} columns; delete the far, stray cells and save it again.")


def coerce(value: Any) -> Any:
    """calamine gives floats for integers and dates for midnight datetimes: undo that."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    if isinstance(value, str):
        return value.strip()
    return value


def read_rows(path: Path, lib: L.Library) -> tuple[int, Iterator[tuple[int, dict]]]:
    """(row count, iterator of (spreadsheet row number, {field: value})) of the first sheet."""
    from python_calamine import CalamineWorkbook

    check_file(path)
    check_sheet_size(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as error:  # calamine raises its own error types for broken files
        raise ImportRejected(f"{path.name} cannot be read as an Excel file: {error}.") from None
    height = sheet.height
    if height - 1 > MAX_ROWS:
        raise ImportRejected(f"{path.name} has {height - 1:,} rows; the limit is {MAX_ROWS:,}. Split the file.")
    rows = sheet.iter_rows()
    try:
        header = next(rows)
    except StopIteration:
        raise ImportRejected(f"{path.name} is empty; start from the template.") from None
    by_header = {fold(spec.header): spec.name for spec in lib.fields} | {fold(spec.name): spec.name for spec in lib.fields}
    positions: dict[int, str] = {}
    unknown = []
    for index, title in enumerate(header):
        title = str(coerce(title) or "")
        if not title:
            continue
        name = by_header.get(fold(title))
        if name is None:
            unknown.append(title)
        else:
            positions[index] = name
    if unknown:
        raise ImportRejected(f"{path.name} has columns this library does not know: {', '.join(unknown)}. "
                             f"Use the {lib.title} template.")
    missing = [spec.header for spec in lib.fields if spec.required and spec.name not in positions.values()]
    if missing:
        raise ImportRejected(f"{path.name} lacks the column(s) {', '.join(missing)}. Use the {lib.title} template.")

    def iterate() -> Iterator[tuple[int, dict]]:
        for number, cells in enumerate(rows, start=2):
            values = {name: coerce(cells[index]) if index < len(cells) else None for index, name in positions.items()}
            if all(value in (None, "") for value in values.values()):
                continue
            yield number, values

    return height - 1, iterate()


# ---------------------------------------------------------------- import


class _Abort(Exception):
    """Rolls the import transaction back once every row has been checked."""


def import_library(ctx: AppContext, actor: Actor, name: str, path: Path | str,
                   progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import an .xlsx into a library: all rows in one transaction, or none with a per-row error list."""
    lib = L.library(name)
    actor.require("basedata.import")
    actor.require(lib.permission)
    path = import_source(ctx, actor, path)
    total, rows = read_rows(path, lib)
    return import_rows(ctx, actor, name, rows, source=str(path), source_name=path.name, total=total,
                       progress=progress)


def import_rows(ctx: AppContext, actor: Actor, name: str, rows, *, source: str, source_name: str, total: int,
                progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Rows ((row number, {field name: raw value}), ...) into a library, created or updated by their key:
    all in one transaction, or none with a per-row error list. The Excel import and the API's batches."""
    lib = L.library(name)
    actor.require("basedata.import")
    actor.require(lib.permission)
    headers = {spec.name: spec.header for spec in lib.fields}
    errors: list[RowError] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rows": 0}
    seen: dict[str, int] = {}
    now = utcnow()

    def add_error(row: int, field_name: str | None, reason: str) -> None:
        if len(errors) <= MAX_ERRORS:
            errors.append(RowError(row, headers.get(field_name or "", field_name or ""), reason))

    def handle(session, chunk: list[tuple[int, dict]]) -> None:
        parsed: list[tuple[int, dict]] = []
        for row_number, raw in chunk:
            try:
                values = lib.parse(raw)
            except ValidationError as error:
                for field_name, reason in (error.errors or {error.field: error.message}).items():
                    add_error(row_number, field_name, reason)
                continue
            key = values.get(lib.key_field)
            if key:
                folded = lib.fold_key(key)
                if folded in seen:
                    add_error(row_number, lib.key_field, f"{key} is also in row {seen[folded]}.")
                    continue
                seen[folded] = row_number
            parsed.append((row_number, values))
        problems = lib.resolve(session, [values for _, values in parsed])
        for position, fields in problems.items():
            for field_name, reason in fields.items():
                add_error(parsed[position][0], field_name, reason)
        good = [item for position, item in enumerate(parsed) if position not in problems]
        existing = L.existing_by_key(session, lib, [lib.fold_key(v[lib.key_field]) for _, v in good if v[lib.key_field]])
        inserts, updates, audits = [], [], []
        for row_number, values in good:
            current = existing.get(lib.fold_key(values[lib.key_field])) if values[lib.key_field] else None
            try:
                lib.check(session, values, current.id if current else None)
            except ValidationError as error:
                add_error(row_number, error.field, error.message)
                continue
            if current is None:
                inserts.append(lib.columns(values) | lib.on_create(values) | _stamps(lib, now, created=True))
                continue
            changes = L.field_changes(lib, current.values, values)
            if not changes:
                counts["unchanged"] += 1
                continue
            updates.append({"id": current.id} | lib.columns(values) | _stamps(lib, now, created=False))
            audits.append((current.id, f"changed {lib.describe(values)} by import: {', '.join(changes)}", changes))
        if errors:
            return  # keep checking the remaining rows, write nothing more
        try:
            L.bulk_write(session, lib, inserts, updates)
        except IntegrityError:
            raise ImportRejected(f"Rows {chunk[0][0]} to {chunk[-1][0]} clash with each other or with records "
                                 "saved meanwhile (e.g. two open accounts for one meter); nothing was imported.") from None
        if audits:
            from sqlalchemy import insert

            from stron_tui.db.models import AuditEntry

            session.execute(insert(AuditEntry), audit.entry_rows(actor, f"{lib.name}.import_update", lib.entity, audits))
        counts["created"] += len(inserts)
        counts["updated"] += len(updates)

    try:
        with ctx.db.session() as session:
            chunk: list[tuple[int, dict]] = []
            for item in rows:
                counts["rows"] += 1
                chunk.append(item)
                if len(chunk) >= CHUNK:
                    handle(session, chunk)
                    chunk = []
                    if progress:
                        progress(counts["rows"], total)
            if chunk:
                handle(session, chunk)
            if progress:
                progress(counts["rows"], total)
            if errors:
                raise _Abort()
            audit.record(session, actor, f"{lib.name}.import", entity=lib.entity,
                         summary=f"imported {source_name}: {counts['created']} new, {counts['updated']} changed, "
                                 f"{counts['unchanged']} unchanged",
                         detail={"file": source, **counts})
    except _Abort:
        return ImportReport(lib.name, source, counts["rows"], errors=tuple(errors[:MAX_ERRORS]),
                            more_errors=len(errors) > MAX_ERRORS)
    return ImportReport(lib.name, source, counts["rows"], counts["created"], counts["updated"], counts["unchanged"])


def _stamps(lib: L.Library, now: datetime, *, created: bool) -> dict:
    stamps = {}
    if created and hasattr(lib.model, "created_at"):
        stamps["created_at"] = now
    if hasattr(lib.model, "updated_at"):
        stamps["updated_at"] = now
    return stamps


__all__ = ["ImportRejected", "ImportReport", "RowError", "ExportResult", "Upload", "uploaded_files", "import_source",
           "export_library", "import_library", "import_rows",
           "export_errors", "write_template", "read_rows", "coerce", "ExportCancelled", "MAX_ROWS", "MAX_FILE_BYTES"]
