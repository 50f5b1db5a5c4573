"""Remote admins import what they uploaded: the upload folder is listed, and a session over SSH cannot make
the import read any other file on the server."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import xlsxwriter
from sqlalchemy import func, select

from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry, District
from stron_tui.exports.files import upload_directory
from stron_tui.services.excel_io import ImportRejected, import_library, uploaded_files
from tests.screens.keyboard import settle


def _districts_sheet(path, rows):
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Code", "Name", "Kind"])
    for index, row in enumerate(rows, start=1):
        sheet.write_row(index, 0, row)
    workbook.close()
    return path


def _count(ctx, model) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_upload_folder_lists_spreadsheets_newest_first(ctx, admin):
    folder = upload_directory(ctx.settings, admin.user_id)
    older = _districts_sheet(folder / "older.xlsx", [["N1", "North", "rural"]])
    _districts_sheet(folder / "newer.xlsx", [["S1", "South", "rural"]])
    os.utime(older, (1_700_000_000, 1_700_000_000))
    (folder / "notes.txt").write_text("not a spreadsheet")
    assert [upload.name for upload in uploaded_files(ctx, admin)] == ["newer.xlsx", "older.xlsx"]
    assert folder.parent == ctx.settings.export_dir / f"u{admin.user_id}"


def test_over_ssh_only_the_upload_folder_can_be_imported(ctx, admin, tmp_path):
    remote = replace(admin, source="ssh")
    elsewhere = _districts_sheet(tmp_path / "districts.xlsx", [["N1", "North", "rural"]])
    for path in (str(elsewhere), "../" * 12 + str(elsewhere).lstrip("/"), "/etc/passwd"):
        with pytest.raises(ImportRejected) as refused:
            import_library(ctx, remote, "districts", path)
        assert "upload folder" in refused.value.message
    assert _count(ctx, District) == 0
    _districts_sheet(upload_directory(ctx.settings, admin.user_id) / "districts.xlsx", [["N1", "North", "rural"]])
    report = import_library(ctx, remote, "districts", "districts.xlsx")
    assert report.ok and report.created == 1
    with ctx.db.read_session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "districts.import"))
        assert entry.source == "ssh" and "districts.xlsx" in entry.summary


async def test_import_screen_lists_uploads_and_imports_the_chosen_one(ctx, admin):
    folder = upload_directory(ctx.settings, admin.user_id)
    _districts_sheet(folder / "districts.xlsx", [["N1", "North", "rural"], ["S1", "South", "rural"]])
    app = StronApp(ctx, actor=admin, source="ssh")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3", "4")
        await settle(app, pilot)
        await pilot.press("i")
        await settle(app, pilot)
        listed = app.screen.query_one("#uploads")
        assert listed.option_count == 1 and "districts.xlsx" in str(listed.get_option_at_index(0).prompt)
        assert app.focused is listed
        await pilot.press("enter")
        await settle(app, pilot)
        assert "Imported 2 row(s): 2 new" in str(app.screen.query_one("#import-result").render())
    assert _count(ctx, District) == 2
