"""Excel export, all-or-nothing import, round trips, templates and refused files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from stron_tui.db.models import AuditEntry, Customer, Meter
from stron_tui.services import libraries as L
from stron_tui.services.excel_io import ImportRejected, export_errors, export_library, import_library, write_template
from tests.services.basedata_helpers import drn, meter_values, seed


def write_sheet(path: Path, header: list, rows: list[list]) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header)
    for index, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(index, column, value)
            else:
                sheet.write(index, column, value)
    workbook.close()
    return path


def count(ctx, model):
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


METER_HEADER = ["Meter number", "Meter type", "Utility", "Status", "SGC", "TI", "KRN", "KT", "EA", "DKGA",
                "Base date", "KEN"]


def meter_row(number: str, **changes) -> list:
    # numbers as Excel numbers, as a person typing the sheet would leave them
    row = [number, "single-phase-integrated", "electricity", "active", 600727, 1, 1, 2, 7, 2, 1993, 255]
    for name, value in changes.items():
        row[["meter_number", "meter_type", "utility", "status", "sgc"].index(name)] = value
    return row


def test_import_with_one_bad_row_imports_nothing_and_names_the_row(ctx, admin, tmp_path):
    seed(ctx, admin, meters=0)
    rows = [meter_row(drn(n)) for n in range(1, 41)]
    rows[22] = meter_row(drn(23)[:-1] + str((int(drn(23)[-1]) + 1) % 10))  # wrong check digit in sheet row 24
    rows[30] = meter_row(drn(31), utility="steam")
    path = write_sheet(tmp_path / "meters.xlsx", METER_HEADER, rows)
    report = import_library(ctx, admin, "meters", path)
    assert not report.ok and report.rows == 40
    assert [(e.row, e.column) for e in report.errors] == [(24, "Meter number"), (32, "Utility")]
    assert "check digit" in report.errors[0].reason
    assert "Nothing was imported" in report.summary()
    assert count(ctx, Meter) == 0
    errors_file = export_errors(ctx, admin, report)
    sheet = CalamineWorkbook.from_path(str(errors_file)).get_sheet_by_index(0).to_python()
    assert [24.0, "Meter number"] == sheet[3][:2]


def test_import_creates_meters_with_numbers_coerced_from_calamine(ctx, admin, tmp_path):
    seed(ctx, admin, meters=0)
    path = write_sheet(tmp_path / "meters.xlsx", METER_HEADER, [meter_row(drn(n)) for n in range(1, 31)])
    report = import_library(ctx, admin, "meters", path)
    assert report.ok and (report.created, report.updated, report.unchanged) == (30, 0, 0)
    with ctx.db.read_session() as session:
        meter = session.scalar(select(Meter).where(Meter.meter_number == drn(7)))
        assert (meter.sgc, meter.ea, meter.dkga, meter.base_date, meter.installed_sgc) == ("600727", "07", "02", 1993,
                                                                                          "600727")
        assert session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "meters.import")).startswith(
            "imported meters.xlsx: 30 new")


@pytest.mark.parametrize("name", ["meters", "customers", "districts", "stations", "tariffs", "accounts"])
def test_export_then_import_is_a_no_op_round_trip(ctx, admin, name):
    data = seed(ctx, admin, meters=3)
    L.create(ctx, admin, "accounts", {"customer_code": "C1", "meter_number": data["meters"][0]["meter_number"],
                                      "station_code": "ST1", "tariff_name": "Home"})
    L.create(ctx, admin, "customers", {"code": "C2", "name": "Zoë 李", "address": "=1+1", "phone": "+234 803 555 0000"})
    exported = export_library(ctx, admin, name)
    assert exported.path.exists() and exported.path.parent.is_relative_to(ctx.settings.export_dir)
    with ctx.db.read_session() as session:
        audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    report = import_library(ctx, admin, name, exported.path)
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, exported.rows)
    with ctx.db.read_session() as session:
        changes = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("%.import_update")))
        assert changes == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before + 1


def test_import_updates_only_changed_records_and_audits_them(ctx, admin, tmp_path):
    seed(ctx, admin, meters=0)
    header = ["Customer ID", "Name", "Phone", "District code"]
    path = write_sheet(tmp_path / "c.xlsx", header, [["C1", "Ngozi Ọkọnkwọ", "+2348025550101", "D1"],
                                                     ["C2", "Zoë", 2348035550000, ""]])
    first = import_library(ctx, admin, "customers", path)
    # C1's address and e-mail are not in the file: they become blank, so C1 changes
    assert (first.created, first.updated) == (1, 1)
    second = import_library(ctx, admin, "customers", path)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    with ctx.db.read_session() as session:
        assert session.scalar(select(Customer.phone).where(Customer.code == "C2")) == "+2348035550000"
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "customers.import_update"))
        assert '"email": ["ngozi@example.com", ""]' in entry.detail


def test_duplicate_keys_in_one_file_are_reported(ctx, admin, tmp_path):
    seed(ctx, admin, meters=0)
    path = write_sheet(tmp_path / "d.xlsx", ["Code", "Name"], [["N1", "North"], ["n1", "North again"]])
    report = import_library(ctx, admin, "districts", path)
    assert [(e.row, e.column, e.reason) for e in report.errors] == [(3, "Code", "n1 is also in row 2.")]


def test_files_that_are_not_xlsx_or_have_wrong_columns_are_refused(ctx, admin, tmp_path):
    seed(ctx, admin, meters=0)
    text = tmp_path / "meters.csv"
    text.write_text("a,b\n")
    with pytest.raises(ImportRejected, match="not an Excel .xlsx file"):
        import_library(ctx, admin, "meters", text)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    with pytest.raises(ImportRejected, match="not a valid .xlsx"):
        import_library(ctx, admin, "meters", fake)
    wrong = write_sheet(tmp_path / "wrong.xlsx", ["Meter number", "Colour"], [["x", "red"]])
    with pytest.raises(ImportRejected, match="Colour"):
        import_library(ctx, admin, "meters", wrong)
    big = tmp_path / "big.xlsx"
    with big.open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)
    with pytest.raises(ImportRejected, match="limit is 50 MB"):
        import_library(ctx, admin, "meters", big)


def test_template_command_writes_a_documented_template(tmp_path):
    out = tmp_path / "meters.xlsx"
    with out.open("wb") as handle:
        result = subprocess.run([sys.executable, "-m", "stron_tui.cli", "template", "meters"], stdout=handle,
                                stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 0, result.stderr
    workbook = CalamineWorkbook.from_path(str(out))
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[0] == METER_HEADER
    assert "check digit" in str(workbook.get_sheet_by_name("How to fill").to_python())
    write_template("customers", tmp_path / "customers.xlsx")
    assert CalamineWorkbook.from_path(str(tmp_path / "customers.xlsx")).get_sheet_by_index(0).to_python()[0][0] == \
        "Customer ID"


def test_template_example_row_imports_after_setup(ctx, admin, tmp_path):
    seed(ctx, admin, meters=0)
    path = tmp_path / "districts.xlsx"
    write_template("districts", path)
    report = import_library(ctx, admin, "districts", path)
    assert report.ok and report.created == 1
    assert L.find(ctx, admin, "districts", "lag-01")["name"] == "Lagos Island"
    assert meter_values  # helper kept importable for other tests
