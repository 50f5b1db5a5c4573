"""Hostile input: injection and oversized strings, malformed Excel files, malformed tokens.

Nothing crashes, nothing leaks, nothing changes: every case ends in a clear
message (or a literal, harmless result) and the database is as it was.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import tokencore
from stron_tui.db.models import Customer, Meter, Vend
from stron_tui.errors import StronError
from stron_tui.services import excel_io, libraries, management, vending
from tests.factories import add_meter, build_world

HOSTILE = [
    "'; DROP TABLE meters; --",
    "\" OR 1=1 --",
    "%", "_", "\\", "%_%", "[a-z]*",
    "1' UNION SELECT password_hash FROM users --",
    "Robert'); DELETE FROM vends;--",
    "\x00\x01\x1b[31m", "𝕊𝕥𝕣𝕠𝕟 ☃ 李 Ọkọnkwọ",
    "A" * 10_000,
    "=cmd|' /C calc'!A0",
]
LIBRARIES = ["meters", "customers", "tariffs", "districts", "stations", "accounts"]


def _counts(ctx) -> tuple[int, int, int]:
    with ctx.db.read_session() as session:
        return (session.scalar(select(func.count(Meter.id))), session.scalar(select(func.count(Customer.id))),
                session.scalar(select(func.count(Vend.id))))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_search_strings_are_literal_everywhere(ctx, admin, text):
    world = build_world(ctx)
    add_meter(world, "4500000001")
    before = _counts(ctx)
    for name in LIBRARIES:
        page = libraries.search(ctx, admin, name, text)
        assert page.rows == [] or all(text.strip().casefold()[:20] in str(row).casefold() for row in page.rows)
    assert vending.find_accounts(ctx, admin, text) == []
    for kind in ("clear_tamper", "clear_credit"):
        assert management.records(ctx, admin, kind, text).rows == []
    with pytest.raises(StronError):
        vending.load_target(ctx, admin, text)
    assert _counts(ctx) == before


@pytest.mark.parametrize("text", ["A" * 5000, "x\x00y", "'; DROP TABLE customers; --"])
def test_hostile_form_values_get_a_message_or_are_stored_literally(ctx, admin, text):
    before = _counts(ctx)
    try:
        record = libraries.create(ctx, admin, "customers", {"code": text, "name": text})
    except StronError as error:
        assert str(error) and len(str(error)) < 400  # one clear sentence, not an echo of the input
        assert _counts(ctx) == before
    else:
        assert libraries.get(ctx, admin, "customers", record.id).values["name"] == record.values["name"]


def _xlsx_bomb(path: Path, megabytes: int) -> None:
    """A valid-looking .xlsx whose sheet unpacks to `megabytes` of XML (compresses ~1000:1)."""
    row = "<row><c t=\"inlineStr\"><is><t>0</t></is></c></row>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = (row * (1024 * 1024 // len(row))).encode()
            for _ in range(megabytes):
                sheet.write(block)


def test_a_zip_bomb_is_refused_before_it_is_read(ctx, admin, tmp_path):
    bomb = tmp_path / "meters.xlsx"
    _xlsx_bomb(bomb, 900)
    assert bomb.stat().st_size < 5 * 1024 * 1024
    before = _counts(ctx)
    with pytest.raises(excel_io.ImportRejected, match="unpacks to .* MB"):
        excel_io.import_library(ctx, admin, "meters", bomb)
    assert _counts(ctx) == before


def test_malformed_excel_files_are_refused_with_a_reason(ctx, admin, tmp_path):
    cases = {
        "truncated.xlsx": b"PK\x03\x04" + b"\x00" * 100,
        "text.xlsx": b"meter_number,utility\n41000000004,electricity\n",
        "empty.xlsx": b"",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(excel_io.ImportRejected):
            excel_io.import_library(ctx, admin, "customers", path)


def test_formulas_in_an_import_are_kept_as_text_and_exported_as_text(ctx, admin, tmp_path):
    import xlsxwriter
    from openpyxl import load_workbook

    path = tmp_path / "customers.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = workbook.add_worksheet()
    headers = [spec.header for spec in libraries.library("customers").fields]
    for column, header in enumerate(headers):
        sheet.write_string(0, column, header)
    values = {"Customer ID": "EVIL1", "Name": "=HYPERLINK(\"http://x\",\"click\")"}
    for column, header in enumerate(headers):
        if header in values:
            sheet.write_string(1, column, values[header])
    workbook.close()
    report = excel_io.import_library(ctx, admin, "customers", path)
    assert not report.errors, report.errors
    with ctx.db.read_session() as session:
        assert session.scalar(select(Customer.name).where(Customer.code == "EVIL1")).startswith("=HYPERLINK")
    exported = excel_io.export_library(ctx, admin, "customers", "EVIL1")
    exported_path = Path(getattr(exported, "path", exported))
    cells = [cell for row in load_workbook(exported_path).active.iter_rows() for cell in row]
    evil = [cell for cell in cells if str(cell.value).startswith("=HYPERLINK")]
    assert evil and all(cell.data_type == "s" for cell in evil)  # a string cell, never a formula


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.text(max_size=40), st.from_regex(r"\d{1,30}", fullmatch=True)))
def test_decoding_any_text_gives_a_token_error_or_a_token(token):
    key_data = tokencore.KeyData(sgc="123456", ti=1, krn=1, kt=2, ken=255, base_date=2014)
    try:
        decoded = tokencore.decode_token(token, bytes(8), key_data)
    except tokencore.TokenError as error:
        assert str(error)
    else:
        assert len(decoded.token) == 20
