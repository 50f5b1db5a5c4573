"""`stron-tui import` and `export`: an operator named on the command line, the screens' checks and audit."""

from __future__ import annotations

import os
import subprocess
import sys

import xlsxwriter
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from stron_tui.db.models import AuditEntry, District, User
from tests.test_cli import run_cli

ADMIN_PASSWORD = "Correct-Horse-9"


def _context(tmp_path):
    from stron_tui.services.context import open_context
    from stron_tui.settings import load_settings

    return open_context(load_settings({"STRON_DATA_DIR": str(tmp_path / "data")}))


def _sheet(path, rows):
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Code", "Name", "Kind"])
    for index, row in enumerate(rows, start=1):
        sheet.write_row(index, 0, row)
    workbook.close()
    return path


def _districts(tmp_path):
    ctx = _context(tmp_path)
    try:
        with ctx.db.read_session() as session:
            return sorted(session.scalars(select(District.code)))
    finally:
        ctx.close()


def test_export_and_import_act_as_the_named_operator_with_the_screens_rules(tmp_path):
    password_file = tmp_path / "admin.pw"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    assert run_cli("init", "--admin-password-file", str(password_file), tmp_path=tmp_path).returncode == 0
    operator = ["--user", "admin", "--password-file", str(password_file)]

    bad = _sheet(tmp_path / "bad.xlsx", [["N1", "North", "residential"], ["N2", "", "rural"]])
    refused = run_cli("import", "districts", str(bad), *operator, tmp_path=tmp_path)
    assert refused.returncode == 1
    assert "row 3, Name: Enter the name." in refused.stderr and "Nothing was imported" in refused.stderr
    assert _districts(tmp_path) == []

    good = _sheet(tmp_path / "good.xlsx", [["N1", "North", "residential"], ["S1", "South", "rural"]])
    imported = run_cli("import", "districts", str(good), *operator, tmp_path=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 row(s): 2 new" in imported.stdout
    assert _districts(tmp_path) == ["N1", "S1"]

    out = tmp_path / "districts.xlsx"
    exported = run_cli("export", "districts", str(out), "--search", "north", *operator, tmp_path=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert f"Exported 1 rows of the districts library to {out}" in exported.stdout
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert [row[0] for row in rows] == ["Code", "N1"]

    ctx = _context(tmp_path)
    try:
        with ctx.db.read_session() as session:
            entries = {(entry.action, entry.source, entry.user_code) for entry in session.scalars(select(AuditEntry))}
    finally:
        ctx.close()
    assert {("districts.import", "cli", "Admin"), ("districts.export", "cli", "Admin"), ("login", "cli", "Admin")} \
        <= entries


def test_a_wrong_password_or_missing_right_changes_nothing(tmp_path):
    password_file = tmp_path / "admin.pw"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    assert run_cli("init", "--admin-password-file", str(password_file), tmp_path=tmp_path).returncode == 0
    good = _sheet(tmp_path / "good.xlsx", [["N1", "North", "residential"]])
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("not-it\n")
    result = run_cli("import", "districts", str(good), "--user", "admin", "--password-file", str(wrong),
                     tmp_path=tmp_path)
    assert result.returncode == 1 and "stron-tui:" in result.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")} | {"STRON_DATA_DIR": str(tmp_path / "data")}
    no_file = subprocess.run([sys.executable, "-m", "stron_tui", "import", "districts", str(good), "--user", "admin"],
                             env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert no_file.returncode == 1 and "--password-file" in no_file.stderr  # no terminal to ask at

    from stron_tui.services import auth, users

    ctx = _context(tmp_path)
    try:
        admin = auth.authenticate(ctx, "admin", ADMIN_PASSWORD)
        users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
        with ctx.db.session() as session:
            clerk = session.scalar(select(User).where(User.user_code == "clerk"))
            clerk.password_hash = session.scalar(select(User.password_hash).where(User.user_code == "Admin"))
            clerk.must_change_password = False
    finally:
        ctx.close()
    denied = run_cli("import", "districts", str(good), "--user", "clerk", "--password-file", str(password_file),
                     tmp_path=tmp_path)
    assert denied.returncode == 1 and "clerk may not import library data from Excel" in denied.stderr
    assert _districts(tmp_path) == []
