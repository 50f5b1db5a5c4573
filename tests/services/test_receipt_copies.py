"""Copies of a receipt a screen holds (S saves, P prints): through a service that checks rights and
scope and leaves an audit row, never straight through the exports."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select, update

from stron_tui.db.models import AuditEntry, SalesStation
from stron_tui.domain.tokens import grouped
from stron_tui.errors import NotFound, PermissionDenied
from stron_tui.services import receipts
from tests.scoping import build_scoped


def _audit(ctx, number: str) -> list[tuple[str, str, str]]:
    with ctx.db.read_session() as session:
        rows = session.execute(select(AuditEntry.action, AuditEntry.user_code, AuditEntry.summary)
                               .where(AuditEntry.entity == "receipt", AuditEntry.entity_id == number)
                               .order_by(AuditEntry.id)).all()
    return [tuple(row) for row in rows]


def test_saving_a_receipt_writes_its_files_and_an_audit_row(ctx, admin):
    scoped = build_scoped(ctx, admin)
    sale = scoped.s1_sale
    paths = receipts.save_receipt(ctx, scoped.cashier1, sale)
    assert sorted(path.suffix for path in paths) == [".pdf", ".txt", ".txt"]
    assert all(path.exists() for path in paths)
    assert grouped(sale.token) in paths[0].read_text(encoding="utf-8")
    assert _audit(ctx, sale.receipt_number) == [
        ("receipt.save", "clerk1", f"receipt {sale.receipt_number} for meter {sale.meter_number} saved as 3 files")]


def test_printing_sends_the_receipt_to_a_terminal_printer_or_saves_it(ctx, admin):
    scoped = build_scoped(ctx, admin)
    sale = scoped.s1_sale.as_reprint()
    printed: list[str] = []
    with ctx.db.session() as session:
        session.execute(update(SalesStation).where(SalesStation.id == scoped.world.station_id)
                        .values(printing="terminal"))
    outcome = receipts.print_receipt(ctx, scoped.cashier1, sale, terminal=printed.append, remote=False)
    assert outcome.sent_to_printer and outcome.paths == ()
    assert printed and grouped(sale.token) in printed[0] and printed[0].startswith("\x1b[5i")

    no_terminal = receipts.print_receipt(ctx, scoped.cashier1, sale, terminal=None, remote=False)
    assert not no_terminal.sent_to_printer and len(no_terminal.paths) == 3
    assert [action for action, _who, _summary in _audit(ctx, sale.receipt_number)] == [
        "receipt.print", "receipt.save"]
    assert _audit(ctx, sale.receipt_number)[0][2].startswith(f"reprint of receipt {sale.receipt_number}")


def test_another_stations_receipt_is_no_receipt_and_nothing_is_written(ctx, admin):
    scoped = build_scoped(ctx, admin)
    sale = scoped.s1_sale
    assert sale.station_code != "S2" and sale.operator != "clerk2"
    before = sorted(ctx.settings.export_dir.rglob("*")) if ctx.settings.export_dir.exists() else []
    with pytest.raises(NotFound, match=f"no receipt or transaction numbered {sale.receipt_number}"):
        receipts.save_receipt(ctx, scoped.cashier2, sale)
    with pytest.raises(NotFound):
        receipts.print_receipt(ctx, scoped.cashier2, sale, terminal=lambda data: None, remote=False)
    with pytest.raises(NotFound):  # a partner copies its own sales only
        receipts.save_receipt(ctx, scoped.partner_b, scoped.a_sale)
    assert receipts.save_receipt(ctx, scoped.partner_a, scoped.a_sale)
    after = sorted(ctx.settings.export_dir.rglob("*.txt"))
    assert [path for path in after if path not in before and sale.receipt_number in path.name] == []
    assert _audit(ctx, sale.receipt_number) == []


def test_a_copy_needs_a_right_that_hands_out_receipts(ctx, admin):
    scoped = build_scoped(ctx, admin)
    with pytest.raises(PermissionDenied):
        receipts.save_receipt(ctx, replace(scoped.cashier1, permissions=frozenset({"basedata.view"})),
                              scoped.s1_sale)
    assert _audit(ctx, scoped.s1_sale.receipt_number) == []
