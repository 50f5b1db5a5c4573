"""Text from outside never reaches a terminal or a printer raw.

At every door (forms through the services, Excel imports, the API in
tests/api/test_hostile_requests.py) control characters are removed; on
output (receipt text, the transparent print stream, table cells) whatever a
row still holds is made printable.
"""

from __future__ import annotations

import pytest
import xlsxwriter
from sqlalchemy import select, update

from stron_tui.db.models import AuditEntry, Customer, ManagementToken
from stron_tui.errors import ValidationError
from stron_tui.exports.receipts import PRINT_END, PRINT_START, render_text, save_receipt, transparent_print
from stron_tui.services import auth, excel_io, libraries, management, receipts
from stron_tui.services.management import ManagementRequest
from stron_tui.domain.text import clean, for_markup, printable
from stron_tui.services.vending import new_request_id
from tests.factories import add_meter, build_world

# Window title (OSC), clear screen (CSI), print-end (which would close the transparent print early),
# a C1 CSI, a bell and a right-to-left override.
HOSTILE = "seal \x1b]0;owned\x07 ok\x1b[2J\x1b[4i \x9b31m end\u202e"


def _no_controls(text: str) -> bool:
    return not any(ord(ch) < 32 and ch not in "\n" or 0x7f <= ord(ch) <= 0x9f or ch == "\u202e" for ch in text)


def test_the_shared_cleaner_removes_every_control_and_override():
    assert clean(HOSTILE) == "seal ]0;owned ok[2J[4i 31m end"
    assert clean("a\tb\r\nc") == "a b c"
    assert printable("a\x1b[2Jb\nc") == "a?[2Jb?c"
    assert printable("a\x1bb\nc", keep_newlines=True) == "a?b\nc"
    assert for_markup("[bold]x[/]\x1b") == "\\[bold]x\\[/]?"


def test_a_management_reason_through_the_service_is_stored_without_controls(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4800000001")
    receipt = management.issue(ctx, admin, ManagementRequest(meter, "clear_tamper", new_request_id(), HOSTILE), payment_password="AdminPass1")
    assert receipt.reason == "seal ]0;owned ok[2J[4i 31m end"
    with ctx.db.read_session() as session:
        stored = session.scalar(select(ManagementToken.reason))
        details = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "token.clear_tamper")).all()
    assert stored == receipt.reason and _no_controls(stored)
    assert details and all(_no_controls(detail) for detail in details)


def test_a_reason_of_only_controls_is_no_reason(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4800000002")
    with pytest.raises(ValidationError, match="reason"):
        management.issue(ctx, admin, ManagementRequest(meter, "clear_tamper", new_request_id(), "\x1b\x07\x9b"), payment_password="AdminPass1")
    with ctx.db.read_session() as session:
        assert session.scalar(select(ManagementToken.id)) is None


def test_a_library_form_stores_names_without_controls(ctx, admin):
    record = libraries.create(ctx, admin, "customers", {"code": "CTL\x1b[31m1", "name": HOSTILE})
    with ctx.db.read_session() as session:
        row = session.get(Customer, record.id)
    assert (row.code, row.name) == ("CTL[31m1", "seal ]0;owned ok[2J[4i 31m end")


def test_a_login_with_an_escape_sequence_as_user_id_is_audited_without_it(ctx, admin):
    with pytest.raises(Exception):
        auth.authenticate(ctx, "ghost\x1b]2;pwned\x07", "whatever", source="ssh", remote="127.0.0.1")
    with ctx.db.read_session() as session:
        codes = session.scalars(select(AuditEntry.user_code).where(AuditEntry.action == "login_failed")).all()
    assert codes and all(_no_controls(code) for code in codes)


def test_an_excel_import_stores_names_without_controls(ctx, admin, tmp_path):
    path = tmp_path / "customers.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    headers = [spec.header for spec in libraries.library("customers").fields]
    values = {"Customer ID": "XL1", "Name": "Ada\x1b]0;owned\x07 \x9b2J Obi"}
    for column, header in enumerate(headers):
        sheet.write_string(0, column, header)
        if header in values:
            sheet.write_string(1, column, values[header])
    workbook.close()
    report = excel_io.import_library(ctx, admin, "customers", path)
    assert report.ok, report.errors
    with ctx.db.read_session() as session:
        assert session.scalar(select(Customer.name).where(Customer.code == "XL1")) == "Ada]0;owned 2J Obi"


def test_unknown_column_titles_with_controls_are_named_without_them(ctx, admin, tmp_path):
    path = tmp_path / "customers.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet().write_string(0, 0, "Evil\x1b[2J")
    workbook.close()
    with pytest.raises(excel_io.ImportRejected) as refused:
        excel_io.import_library(ctx, admin, "customers", path)
    assert "Evil" in str(refused.value) and "\x1b" not in str(refused.value)


def test_a_row_planted_with_escape_sequences_prints_without_them(ctx, admin, tmp_path):
    """Text that reached the database some other way (an old version, a direct SQL edit) is still
    harmless on the receipt, on screen and in the print stream."""
    world = build_world(ctx)
    meter = add_meter(world, "4800000003")
    receipt = management.issue(ctx, admin, ManagementRequest(meter, "clear_tamper", new_request_id(), "seal"), payment_password="AdminPass1")
    with ctx.db.session() as session:
        session.execute(update(ManagementToken).values(reason="seal\x1b[4i\x1b]0;owned\x07\x9b2J\u202e"))
        session.execute(update(Customer).values(name="Ada\x1b[2J Obi"))
    planted = receipts.lookup_receipt(ctx, admin, receipt.receipt_number)
    assert "\x1b" in planted.reason  # the planted text really is in the receipt's data
    for width in (40, 80):
        text = render_text(planted, width)
        assert _no_controls(text) and "seal?[4i?]0;owned??2J?" in text and "Ada?[2J Obi" in text
    stream = transparent_print(render_text(planted))
    assert stream.startswith(PRINT_START) and stream.endswith(PRINT_END)
    assert stream.count("\x1b") == 2  # only our own ESC[5i and ESC[4i
    assert _no_controls(stream[len(PRINT_START):-len(PRINT_END)].replace("\r", "").replace("\x0c", ""))
    for path in save_receipt(ctx.settings, planted, user_id=admin.user_id):
        if path.suffix == ".txt":
            assert _no_controls(path.read_text(encoding="utf-8"))
